//! The FreeSWITCH engine's settings (`IRISX_VOICE__FREESWITCH__*`), used when `IRISX_VOICE__ENGINE=freeswitch`:
//! calls are placed and taken by a FreeSWITCH server through its event socket instead of the built-in engine.
//! The driver is tested against recorded Event Socket exchanges only, not a running FreeSWITCH.

use std::collections::HashMap;
use std::path::PathBuf;

use irisx_freeswitch::{FreeSwitchConfig, TrunkDialing};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// FreeSWITCH settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FreeSwitchSettings {
    /// The event socket, `host:port` (`IRISX_VOICE__FREESWITCH__ESL_ADDR`, default 127.0.0.1:8021).
    pub esl_addr: String,
    /// The event socket's password (`IRISX_VOICE__FREESWITCH__ESL_PASSWORD`, default FreeSWITCH's `ClueCon`).
    #[serde(skip_serializing)]
    pub esl_password: Option<SecretString>,
    /// Trunks dialled through FreeSWITCH gateways, `trunk_id=gateway` pairs, comma-separated
    /// (`IRISX_VOICE__FREESWITCH__GATEWAYS`); a trunk without a pair uses the gateway named as its id.
    pub gateways: String,
    /// Dial trunks straight to their host through this sofia profile instead of gateways
    /// (`IRISX_VOICE__FREESWITCH__PROFILE`, for example `external`).
    pub profile: Option<String>,
    /// The directory domain agents are dialled in (`IRISX_VOICE__FREESWITCH__AGENT_DOMAIN`, default `irisx`).
    pub agent_domain: String,
    /// The media directory shared with FreeSWITCH, as IRISX sees it (`IRISX_VOICE__FREESWITCH__MEDIA_DIR`).
    pub media_dir: PathBuf,
    /// The same directory as FreeSWITCH sees it, when mounted elsewhere (`IRISX_VOICE__FREESWITCH__REMOTE_MEDIA_DIR`).
    pub remote_media_dir: Option<PathBuf>,
    /// The `speak` engine and voice, `engine|voice` (`IRISX_VOICE__FREESWITCH__TTS`, default `flite|kal`).
    pub tts: String,
}

impl Default for FreeSwitchSettings {
    fn default() -> Self {
        let d = FreeSwitchConfig::default();
        Self {
            esl_addr: d.esl_addr,
            esl_password: None,
            gateways: String::new(),
            profile: None,
            agent_domain: d.agent_domain,
            media_dir: d.media_dir,
            remote_media_dir: None,
            tts: d.tts,
        }
    }
}

impl FreeSwitchSettings {
    /// The driver's configuration, with a per-tenant call limit; checked.
    pub fn driver_config(&self, max_calls_per_tenant: usize) -> Result<FreeSwitchConfig, (&'static str, String)> {
        let trunks = match &self.profile {
            Some(profile) => TrunkDialing::Profile(profile.clone()),
            None => TrunkDialing::Gateways(self.gateway_map()?),
        };
        let mut config = FreeSwitchConfig {
            esl_addr: self.esl_addr.clone(),
            trunks,
            agent_domain: self.agent_domain.clone(),
            media_dir: self.media_dir.clone(),
            remote_media_dir: self.remote_media_dir.clone(),
            tts: self.tts.clone(),
            max_calls_per_tenant,
            ..FreeSwitchConfig::default()
        };
        if let Some(password) = &self.esl_password {
            config.esl_password = password.expose_secret().to_owned();
        }
        config
            .validate()
            .map_err(|e| ("IRISX_VOICE__FREESWITCH__ESL_ADDR", e.to_string()))?;
        Ok(config)
    }

    fn gateway_map(&self) -> Result<HashMap<String, String>, (&'static str, String)> {
        self.gateways
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((trunk, gateway)) if !trunk.is_empty() && !gateway.is_empty() => {
                    Ok((trunk.trim().to_owned(), gateway.trim().to_owned()))
                }
                _ => Err((
                    "IRISX_VOICE__FREESWITCH__GATEWAYS",
                    format!("`{pair}` is not trunk_id=gateway"),
                )),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_pairs_become_the_trunk_map_and_a_profile_wins_over_them() {
        let settings = FreeSwitchSettings {
            gateways: "trk_1=carrier_a, trk_2=carrier_b".into(),
            ..FreeSwitchSettings::default()
        };
        let config = settings.driver_config(10).unwrap();
        let TrunkDialing::Gateways(map) = config.trunks else {
            panic!("gateways")
        };
        assert_eq!(map.get("trk_2").map(String::as_str), Some("carrier_b"));
        assert_eq!(config.max_calls_per_tenant, 10);
        let profile = FreeSwitchSettings {
            profile: Some("external".into()),
            ..settings
        };
        assert_eq!(
            profile.driver_config(10).unwrap().trunks,
            TrunkDialing::Profile("external".into())
        );
    }

    #[test]
    fn a_malformed_gateway_pair_or_address_names_its_key() {
        let pair = FreeSwitchSettings {
            gateways: "trk_1".into(),
            ..FreeSwitchSettings::default()
        };
        assert_eq!(
            pair.driver_config(1).unwrap_err().0,
            "IRISX_VOICE__FREESWITCH__GATEWAYS"
        );
        let addr = FreeSwitchSettings {
            esl_addr: "nowhere".into(),
            ..FreeSwitchSettings::default()
        };
        assert_eq!(
            addr.driver_config(1).unwrap_err().0,
            "IRISX_VOICE__FREESWITCH__ESL_ADDR"
        );
    }
}
