//! FreeSWITCH's Event Socket protocol: the framing parser (`frame`) and one authenticated connection with its
//! reader and writer tasks (`conn`).

pub mod conn;
pub mod frame;
