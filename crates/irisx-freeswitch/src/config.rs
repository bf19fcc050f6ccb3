//! The driver's configuration: where FreeSWITCH's event socket listens and its password, how trunks and agents
//! become dial strings, the media directory both sides share, timeouts, and the per-tenant call limit.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;

/// How a trunk of an originate becomes a FreeSWITCH dial string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrunkDialing {
    /// Through gateways configured in FreeSWITCH's sofia profiles: `sofia/gateway/<gateway>/<to>`. A trunk named
    /// `n` uses the gateway `map[n]`, or the gateway named `n` itself when the map has no entry. The trunk's host
    /// and credentials are then FreeSWITCH's business (its gateway configuration).
    Gateways(HashMap<String, String>),
    /// Straight to the trunk's host through one sofia profile: `sofia/<profile>/<to>@<host>:<port>`, with
    /// `;transport=tcp` for TCP trunks and the trunk's digest credentials as `sip_auth_username` and
    /// `sip_auth_password` channel variables.
    Profile(String),
}

/// How the driver reaches and uses FreeSWITCH.
#[derive(Clone)]
pub struct FreeSwitchConfig {
    /// The event socket's address, `host:port` (FreeSWITCH's `event_socket.conf.xml`; 127.0.0.1:8021 by default).
    pub esl_addr: String,
    /// The event socket's password (never logged; redacted in `Debug`).
    pub esl_password: String,
    /// How trunks are dialled.
    pub trunks: TrunkDialing,
    /// The directory domain of agents, dialled as `user/<name>@<domain>`.
    pub agent_domain: String,
    /// The media directory as IRISX sees it: Play writes WAV files here, Record reads them back.
    pub media_dir: PathBuf,
    /// The same directory as FreeSWITCH sees it (a shared volume mounted elsewhere); `media_dir` when unset.
    pub remote_media_dir: Option<PathBuf>,
    /// The `speak` application's engine and voice, `engine|voice` (for example `flite|kal`).
    pub tts: String,
    /// How long a connection attempt (TCP connect and authentication) may take.
    pub connect_timeout: Duration,
    /// How long a command may wait for its reply before the connection counts as broken.
    pub command_timeout: Duration,
    /// The first wait before reconnecting after the socket dropped; it doubles up to `reconnect_max`.
    pub reconnect_initial: Duration,
    /// The longest wait between reconnection attempts.
    pub reconnect_max: Duration,
    /// How long an incoming call may wait for the orchestrator's answer before the driver refuses it (480).
    pub answer_timeout: Duration,
    /// Concurrent calls allowed per tenant (as the native engine's `max_calls_per_tenant`).
    pub max_calls_per_tenant: usize,
}

impl Default for FreeSwitchConfig {
    fn default() -> Self {
        FreeSwitchConfig {
            esl_addr: "127.0.0.1:8021".into(),
            esl_password: "ClueCon".into(),
            trunks: TrunkDialing::Gateways(HashMap::new()),
            agent_domain: "irisx".into(),
            media_dir: PathBuf::from("/var/lib/irisx/freeswitch-media"),
            remote_media_dir: None,
            tts: "flite|kal".into(),
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(10),
            reconnect_initial: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            answer_timeout: Duration::from_secs(60),
            max_calls_per_tenant: 100,
        }
    }
}

impl fmt::Debug for FreeSwitchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreeSwitchConfig")
            .field("esl_addr", &self.esl_addr)
            .field("esl_password", &"[redacted]")
            .field("trunks", &self.trunks)
            .field("agent_domain", &self.agent_domain)
            .field("media_dir", &self.media_dir)
            .field("remote_media_dir", &self.remote_media_dir)
            .field("tts", &self.tts)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("reconnect_initial", &self.reconnect_initial)
            .field("reconnect_max", &self.reconnect_max)
            .field("answer_timeout", &self.answer_timeout)
            .field("max_calls_per_tenant", &self.max_calls_per_tenant)
            .finish()
    }
}

impl FreeSwitchConfig {
    /// Checks the settings once, before connecting.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |reason: &str| Err(Error::Config(reason.to_owned()));
        if self
            .esl_addr
            .rsplit_once(':')
            .is_none_or(|(_, p)| p.parse::<u16>().is_err())
        {
            return bad("the event socket address must be host:port");
        }
        // The password ends a command line: a line break in it would start another command.
        if self.esl_password.is_empty() || self.esl_password.contains(['\r', '\n']) {
            return bad("the event socket password must be one non-empty line");
        }
        if !crate::dial::is_safe(&self.agent_domain) || !crate::dial::is_safe_tts(&self.tts) {
            return bad("the agent domain and the tts setting may hold only letters, digits and . _ - | :");
        }
        // Paths are application arguments, which whitespace separates.
        if !crate::dial::is_safe_path(&self.media_dir) || !crate::dial::is_safe_path(self.remote_media_dir()) {
            return bad("the media directories must be UTF-8 paths without whitespace");
        }
        if self.max_calls_per_tenant == 0 {
            return bad("the call limit must be at least 1");
        }
        let timeouts = [
            self.connect_timeout,
            self.command_timeout,
            self.reconnect_initial,
            self.answer_timeout,
        ];
        if timeouts.iter().any(Duration::is_zero) || self.reconnect_max < self.reconnect_initial {
            return bad("the timeouts must be longer than zero and reconnect_max at least reconnect_initial");
        }
        Ok(())
    }

    /// The media directory as FreeSWITCH sees it.
    pub fn remote_media_dir(&self) -> &std::path::Path {
        self.remote_media_dir.as_deref().unwrap_or(&self.media_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_nonsense_is_refused_with_a_reason() {
        assert!(FreeSwitchConfig::default().validate().is_ok());
        let refused = |change: fn(&mut FreeSwitchConfig)| {
            let mut c = FreeSwitchConfig::default();
            change(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert!(refused(|c| c.esl_addr = "localhost".into()).contains("host:port"));
        assert!(refused(|c| c.esl_password = "a\n\nexit".into()).contains("password"));
        assert!(refused(|c| c.agent_domain = "a b".into()).contains("agent domain"));
        assert!(refused(|c| c.remote_media_dir = Some("/srv/my media".into())).contains("media directories"));
        assert!(refused(|c| c.max_calls_per_tenant = 0).contains("call limit"));
        assert!(refused(|c| c.reconnect_max = Duration::from_millis(1)).contains("reconnect_max"));
    }

    #[test]
    fn the_password_never_reaches_debug_output() {
        let config = FreeSwitchConfig {
            esl_password: "s3cret-pw".into(),
            ..FreeSwitchConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret-pw") && shown.contains("[redacted]"));
    }
}
