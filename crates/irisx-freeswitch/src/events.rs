//! FreeSWITCH's events applied to calls, in arrival order: job results, parked inbound channels (new incoming
//! calls), progress and answers, digits, application completions and hangups.

use std::sync::Arc;

use irisx_core::ports::voice::{CallHandle, CallingAgent, HangupCause, IncomingCall};

use crate::call::{Call, Completion, News, Phase};
use crate::engine::Inner;
use crate::esl::frame::Event;

/// The keys a `DTMF-Digit` may hold.
fn dtmf_key(value: &str) -> Option<char> {
    let mut chars = value.chars();
    let key = chars.next()?.to_ascii_uppercase();
    (chars.next().is_none() && matches!(key, '0'..='9' | '*' | '#' | 'A'..='D')).then_some(key)
}

impl Inner {
    /// Applies one event.
    pub(crate) fn on_event(self: &Arc<Self>, event: Event) {
        match event.name() {
            "BACKGROUND_JOB" => {
                if let Some(job) = event.get("Job-UUID") {
                    self.job_done(job, event.body.clone());
                }
            }
            "CHANNEL_PARK" => self.parked(&event),
            "RECORD_STOP" => {
                let path = event.get("Record-File-Path").unwrap_or("");
                tracing::debug!(path, "recording stopped");
                self.record_stopped(path);
            }
            _ => {
                let call = event.get("Unique-ID").and_then(|c| self.channel_call(c));
                if let Some(call) = call {
                    self.channel_event(&call, &event);
                }
            }
        }
    }

    fn channel_event(&self, call: &Arc<Call>, event: &Event) {
        match event.name() {
            "CHANNEL_CREATE" => call.tell(News::Created),
            "CHANNEL_PROGRESS" | "CHANNEL_PROGRESS_MEDIA" => call.ringing(),
            "CHANNEL_ANSWER" => call.remote_answered(),
            "DTMF" => match event.get("DTMF-Digit").and_then(dtmf_key) {
                Some(key) => call.push_digit(key),
                None => tracing::debug!(digit = event.get("DTMF-Digit"), "ignored a DTMF event"),
            },
            "CHANNEL_EXECUTE_COMPLETE" => {
                if let Some(application) = event.get("Application-UUID") {
                    let completion = Completion {
                        response: event.get("Application-Response").unwrap_or("").to_owned(),
                        terminator: event.get("variable_playback_terminator_used").and_then(dtmf_key),
                    };
                    call.complete_execute(application, completion);
                }
            }
            "CHANNEL_HANGUP_COMPLETE" => self.hung_up(call, event),
            _ => {}
        }
    }

    fn hung_up(&self, call: &Arc<Call>, event: &Event) {
        let cause = event.get("Hangup-Cause").unwrap_or("NORMAL_UNSPECIFIED").to_owned();
        let sip_code = event
            .get("variable_sip_term_status")
            .and_then(|s| s.trim().parse().ok());
        if let Some(channel) = event.get("Unique-ID") {
            self.unbind_channel(channel);
        }
        match call.phase() {
            // The attempt decides between failover and the end.
            Phase::Dialling => call.tell(News::Hangup { cause, sip_code }),
            Phase::Answered => self.end(call, HangupCause::Completed, None),
            Phase::Offered => self.end(call, HangupCause::Canceled, None),
            Phase::Ended => {}
        }
    }

    /// A parked inbound channel the driver does not know yet is a new incoming call. Outbound legs park too
    /// (`&park()`), and a known channel may park again after a bridge; both are ignored.
    fn parked(self: &Arc<Self>, event: &Event) {
        let Some(channel) = event.get("Unique-ID") else {
            return;
        };
        if event.get("Call-Direction") != Some("inbound") || self.channel_call(channel).is_some() {
            return;
        }
        let (call, events) = Call::new(Phase::Offered, Some(channel.to_owned()));
        self.insert_call(&call);
        self.bind_channel(channel, &call);
        let text = |name: &str| event.get(name).unwrap_or("").to_owned();
        let peer = format!(
            "{}:{}",
            text("variable_sip_network_ip"),
            text("variable_sip_network_port")
        );
        let incoming = IncomingCall {
            handle: CallHandle {
                call: call.id.clone(),
                events,
            },
            to: text("Caller-Destination-Number"),
            from: text("Caller-Caller-ID-Number"),
            peer,
            agent: calling_agent(event),
        };
        tracing::info!(call = %call.id, %channel, "incoming call parked");
        self.incoming_tx.send(incoming).ok();
        tokio::spawn(self.clone().answer_timeout(call));
    }

    /// Refuses (480) an incoming call left unanswered for the answer timeout.
    async fn answer_timeout(self: Arc<Self>, call: Arc<Call>) {
        tokio::select! {
            _ = tokio::time::sleep(self.config.answer_timeout) => {}
            _ = call.ended.cancelled() => return,
        }
        if call.phase() == Phase::Offered {
            tracing::info!(call = %call.id, "incoming call not answered in time; refusing it");
            if let Err(e) = self.reject_call(&call, 480).await {
                tracing::warn!(call = %call.id, error = %e, "refusing an unanswered call failed");
            }
        }
    }
}

/// The agent behind an inbound call: FreeSWITCH authenticated the caller against its directory
/// (`sip_authorized`), whose user entry carries the IRISX tenant as the `irisx_tenant` variable.
fn calling_agent(event: &Event) -> Option<CallingAgent> {
    if event.get("variable_sip_authorized") != Some("true") {
        return None;
    }
    Some(CallingAgent {
        user: event.get("variable_user_name")?.to_owned(),
        tenant: event.get("variable_irisx_tenant")?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_dtmf_keys_are_taken() {
        assert_eq!(dtmf_key("5"), Some('5'));
        assert_eq!(dtmf_key("#"), Some('#'));
        assert_eq!(dtmf_key("a"), Some('A'));
        assert_eq!(dtmf_key("12"), None);
        assert_eq!(dtmf_key("x"), None);
        assert_eq!(dtmf_key(""), None);
    }
}
