//! A small WeChat Official Account SDK: callback signatures, AES safe mode, typed XML messages.
//! It knows nothing of referrals or the database, and refers to its own parts only through
//! `super::`, so it could be published on its own.

pub mod api;
pub mod client;
pub mod crypto;
pub mod menu;
pub mod message;
pub mod signature;
pub mod token;
