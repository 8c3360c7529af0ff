#![doc = include_str!("../README.md")]

mod by_channel;
mod console;
mod webhook;

pub use by_channel::ByChannel;
pub use console::ConsoleNotifier;
pub use webhook::WebhookNotifier;
