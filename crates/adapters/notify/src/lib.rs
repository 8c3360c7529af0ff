#![doc = include_str!("../README.md")]

mod console;
mod webhook;

pub use console::ConsoleNotifier;
pub use webhook::WebhookNotifier;
