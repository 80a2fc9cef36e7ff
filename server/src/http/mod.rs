//! Where HTTP comes in from outside: WeChat's callbacks, the REST API and the members' web
//! authorization. Each handler only parses, calls a service (`crate::referral`) and maps its
//! error. (The dashboard's server functions come in through `app::api` and
//! `crate::service`; the simulator's own HTTP surface is `crate::sandbox`.)

pub mod callback;
pub mod dashboard;
pub mod member_auth;
pub mod rest;
