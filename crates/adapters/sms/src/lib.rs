#![doc = include_str!("../README.md")]

mod gateway;

pub use gateway::{SmsDialect, SmsGateway, SmsSetupError};
