//! IOS-XR's target configuration and EOS's configuration sessions: IOS-style lines go to a
//! candidate that only a commit applies, diffed by the device (`show commit changes diff`,
//! `show session-config diffs`), committed with a timer that rolls back by itself unless
//! confirmed (`commit confirmed SECONDS`, `commit timer HH:MM:SS`), and undone from exec mode
//! (`rollback configuration last N`, `configure session NAME abort`). An EOS session outlives
//! the CLI session that edited it, as on a switch, until it is committed or aborted: an
//! interrupted change shows in [`crate::Fleet::config_state`].

use super::commands::invalid_at;
use super::config::build_model;
use super::{Mode, Outcome, Shell};
use crate::Platform;
use crate::config_store::line_diff;

/// What IOS-XR prints after `rollback configuration last N` (N filled in).
const XR_ROLLED_BACK: &str = "Loading Rollback Changes.\nLoaded Rollback Changes in 1 sec \n\
                              Committing.\n1 items committed in 1 sec (0)items/sec\nUpdating.\n\
                              Updated Commit database in 1 sec \n\
                              Configuration successfully rolled back {n} commits.\n";

impl Shell {
    /// One configuration line in an IOS-XR target configuration or an EOS session (not
    /// `end`, `exit` or `do`, handled before).
    pub(super) fn candidate_line(
        &mut self,
        tokens: &[(usize, &str)],
        raw: &str,
        caret_base: usize,
    ) -> Outcome {
        let words: Vec<String> = tokens.iter().map(|(_, w)| w.to_ascii_lowercase()).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let errors = &self.persona.errors;
        let invalid = |word: usize| {
            let column = caret_base + tokens.get(word).map_or(raw.len(), |t| t.0);
            Outcome::Text(invalid_at(errors, errors.invalid, column))
        };
        let xr = self.options.platform == Platform::CiscoXr;
        match (xr, words.as_slice()) {
            (true, ["show", "commit", "changes", "diff"])
            | (false, ["show", "session-config", "diffs"]) => {
                return Outcome::Text(self.candidate_diff());
            }
            (_, ["commit"]) => return self.candidate_commit(None),
            // IOS-XR's default trial is 600 seconds; it takes 30 to 65535.
            (true, ["commit", "confirmed"]) => return self.candidate_commit(Some(600)),
            (true, ["commit", "confirmed", seconds]) => {
                return match seconds.parse::<u32>() {
                    Ok(s @ 30..=65535) => self.candidate_commit(Some(s)),
                    _ => invalid(2),
                };
            }
            (false, ["commit", "timer", hms]) => {
                return match parse_hms(hms) {
                    Some(s) if s > 0 => self.candidate_commit(Some(s)),
                    _ => invalid(2),
                };
            }
            // Both throw the candidate away and go back to exec mode.
            (_, ["abort"]) => {
                self.session = None;
                self.quit_config();
                return Outcome::Text(String::new());
            }
            _ => {}
        }
        match self.ios_change(tokens, raw, caret_base) {
            Err(refused) => refused,
            Ok(change) => {
                if let Some(change) = change {
                    self.candidate.get_or_insert_with(Vec::new).push(change);
                    if self.fault() == Some(crate::Fault::DropMidConfig) {
                        return Outcome::Drop(String::new());
                    }
                }
                Outcome::Text(String::new())
            }
        }
    }

    /// The candidate's difference from the running configuration, as each vendor prints it:
    /// IOS-XR `+`/`-` lines between its header and `end`, EOS a unified diff's `+`/`-` lines.
    fn candidate_diff(&self) -> String {
        let candidate = self.candidate.clone().unwrap_or_default();
        let before = (self.persona.running_config)(&self.model);
        let after = (self.persona.running_config)(&build_model(
            &self.model.hostname,
            self.seed,
            &self.options,
            &candidate,
        ));
        let diff = line_diff(&before, &after);
        if self.options.platform == Platform::CiscoXr {
            return format!(
                "Building configuration...\n!! IOS XR Configuration 7.5.2\n{diff}end\n"
            );
        }
        if diff.is_empty() {
            return String::new();
        }
        // `+ line` → `+line`, as `diff -u` marks lines.
        let body: String = diff
            .lines()
            .map(|l| format!("{}{}\n", &l[..1], &l[2..]))
            .collect();
        let name = self.session.as_deref().unwrap_or_default();
        format!("--- system:/running-config\n+++ session:/{name}-session-config\n{body}")
    }

    /// Commits the candidate, with a timer of `timer_seconds` if given. A commit without a timer
    /// confirms a pending one (IOS-XR: any; EOS: the same session's). EOS leaves the session
    /// and configuration mode.
    fn candidate_commit(&mut self, timer_seconds: Option<u32>) -> Outcome {
        let candidate = self.candidate.clone().unwrap_or_default();
        let eos = self.options.platform == Platform::AristaEos;
        let mut text = String::new();
        if let Some(config) = &self.options.config {
            let within = timer_seconds.map(|s| config.store.minute.mul_f64(f64::from(s) / 60.0));
            let mut committed = config.lock();
            let confirms = within.is_none()
                && committed.confirm_by.is_some()
                && (!eos || committed.timer_session == self.session);
            if committed.changes == candidate && (confirms || !eos) {
                if confirms {
                    committed.confirm();
                } else {
                    // IOS-XR makes no commit (and no rollback point) of nothing.
                    text.push_str("% No configuration changes to commit.\n");
                }
            } else {
                committed.commit(candidate.clone(), within);
                if eos && within.is_some() {
                    committed.timer_session = self.session.clone();
                }
            }
        }
        self.rebuild(&candidate);
        if eos {
            self.session = None;
            self.quit_config();
        }
        Outcome::Text(text)
    }

    /// Exec-mode commands on candidates: EOS `configure session NAME [commit | abort]`, IOS-XR
    /// `rollback configuration last N`. `None` for any other line.
    pub(super) fn run_candidate_exec(&mut self, tokens: &[(usize, &str)]) -> Option<Outcome> {
        let words: Vec<String> = tokens.iter().map(|(_, w)| w.to_ascii_lowercase()).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let platform = self.options.platform;
        let missing = |name: &str| {
            Some(Outcome::Text(format!(
                "% Error: configuration session {name} does not exist\n"
            )))
        };
        match (platform, words.as_slice()) {
            (Platform::AristaEos, ["configure", "session", _]) => {
                let name = tokens[2].1.to_string();
                let candidate = match &self.options.config {
                    Some(config) => {
                        let mut committed = config.lock();
                        match committed.sessions.remove(&name) {
                            Some(pending) => pending,
                            None => committed.changes.clone(),
                        }
                    }
                    None => Vec::new(),
                };
                self.mode = Mode::Config(Vec::new());
                self.object = None;
                self.session = Some(name);
                self.candidate = Some(candidate);
                Some(Outcome::Text(String::new()))
            }
            (Platform::AristaEos, ["configure", "session", _, "commit" | "abort"]) => {
                let name = tokens[2].1;
                let Some(config) = &self.options.config else {
                    return missing(name);
                };
                let mut committed = config.lock();
                let timed = committed.confirm_by.is_some()
                    && committed.timer_session.as_deref() == Some(name);
                let now = match (words[3], timed) {
                    ("commit", true) => {
                        committed.confirm();
                        None
                    }
                    ("abort", true) => {
                        committed.undo_last();
                        Some(committed.changes.clone())
                    }
                    (verb, false) => match committed.sessions.remove(name) {
                        Some(pending) if verb == "commit" => {
                            committed.commit(pending.clone(), None);
                            Some(pending)
                        }
                        Some(_) => None,
                        None => return missing(name),
                    },
                    _ => None,
                };
                drop(committed);
                if let Some(changes) = now {
                    self.rebuild(&changes);
                }
                Some(Outcome::Text(String::new()))
            }
            (Platform::CiscoXr, ["rollback", "configuration", "last", n]) => {
                let n: u32 = n.parse().ok().filter(|n| *n >= 1)?;
                let config = self.options.config.as_ref()?;
                let mut committed = config.lock();
                if committed.history.len() < n as usize {
                    return Some(Outcome::Text(format!(
                        "% Failed to commit: there are fewer than {n} commits to roll back\n"
                    )));
                }
                for _ in 0..n {
                    committed.undo_last();
                }
                let changes = committed.changes.clone();
                drop(committed);
                self.rebuild(&changes);
                Some(Outcome::Text(XR_ROLLED_BACK.replace("{n}", &n.to_string())))
            }
            _ => None,
        }
    }

    /// Leaves configuration mode. A Junos or IOS-XR candidate not committed is discarded; an
    /// EOS session is kept, uncommitted, as a switch keeps it.
    pub(super) fn quit_config(&mut self) {
        self.mode = Mode::Privileged;
        self.object = None;
        let candidate = self.candidate.take();
        if let Some(name) = self.session.take()
            && let Some(config) = &self.options.config
        {
            config
                .lock()
                .sessions
                .insert(name, candidate.unwrap_or_default());
        }
    }

    /// The sub-mode as the prompt names it inside an EOS session: `config-s-fanout` and
    /// `config-s-fanout-vlan` (EOS shows the session name's first six characters).
    pub(super) fn session_mode(&self, sub: Option<&String>) -> Option<String> {
        let name = self.session.as_ref()?;
        let short: String = name.chars().take(6).collect();
        Some(match sub {
            None => format!("config-s-{short}"),
            Some(sub) => format!("config-s-{short}-{}", sub.trim_start_matches("config-")),
        })
    }

    /// Keeps the device's count of CLI sessions in configuration mode true (checked after each
    /// input); see [`crate::Fleet::config_state`].
    pub(super) fn note_config_mode(&mut self) {
        let now = matches!(self.mode, Mode::Config(_));
        if now == self.counted_in_config {
            return;
        }
        self.counted_in_config = now;
        if let Some(config) = &self.options.config {
            let mut committed = config.lock();
            if now {
                committed.in_config += 1;
            } else {
                committed.in_config = committed.in_config.saturating_sub(1);
            }
        }
    }
}

impl Drop for Shell {
    /// The CLI session ended: if it was in configuration mode, the device counts a session
    /// left there, and keeps an EOS session being edited, uncommitted.
    fn drop(&mut self) {
        if !self.counted_in_config {
            return;
        }
        let Some(config) = &self.options.config else {
            return;
        };
        let mut committed = config.lock();
        committed.in_config = committed.in_config.saturating_sub(1);
        committed.left_in_config += 1;
        if let Some(name) = self.session.take() {
            let candidate = self.candidate.take().unwrap_or_default();
            committed.sessions.insert(name, candidate);
        }
    }
}

/// `HH:MM:SS` as seconds.
fn parse_hms(text: &str) -> Option<u32> {
    let parts: Vec<u32> = text
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [h, m, s] if *m < 60 && *s < 60 => Some(h * 3600 + m * 60 + s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::Platform;
    use crate::config_store::{ConfigState, ConfigStore};
    use crate::shell::test_support::{shell, typed};
    use std::sync::Arc;
    use std::time::Duration;

    fn store() -> Arc<ConfigStore> {
        // A minute of `commit timer` lasts 60 ms here.
        Arc::new(ConfigStore::new(1, Duration::from_millis(60)))
    }

    fn running(store: &Arc<ConfigStore>, platform: Platform) -> String {
        let mut sh = shell(platform, store);
        typed(&mut sh, "show running-config")
    }

    #[test]
    fn parse_hms_reads_hours_minutes_seconds() {
        assert_eq!(super::parse_hms("00:10:00"), Some(600));
        assert_eq!(super::parse_hms("01:00:30"), Some(3630));
        assert_eq!(super::parse_hms("00:61:00"), None);
        assert_eq!(super::parse_hms("10"), None);
    }

    #[test]
    fn eos_session_diffs_commits_with_a_timer_and_is_confirmed_from_exec() {
        let store = store();
        let before = running(&store, Platform::AristaEos);
        let mut sh = shell(Platform::AristaEos, &store);
        let out = typed(&mut sh, "configure session fanout-1234");
        assert!(out.ends_with("r00001(config-s-fanout)#"), "{out}");
        let out = typed(&mut sh, "vlan 42");
        assert!(out.ends_with("r00001(config-s-fanout-vlan)#"), "{out}");
        typed(&mut sh, "   name PUSHED");
        let diff = typed(&mut sh, "show session-config diffs");
        assert!(
            diff.contains("+++ session:/fanout-1234-session-config\n"),
            "{diff}"
        );
        assert!(diff.contains("\n+vlan 42\n+   name PUSHED\n"), "{diff}");
        // Nothing runs before the commit.
        assert_eq!(running(&store, Platform::AristaEos), before);
        let out = typed(&mut sh, "commit timer 00:01:00");
        assert!(out.ends_with("r00001#"), "commit leaves the session: {out}");
        assert!(running(&store, Platform::AristaEos).contains("\nvlan 42\n   name PUSHED\n"));
        assert!(store.device(0).state().awaiting_confirm);
        typed(&mut sh, "configure session fanout-1234 commit");
        std::thread::sleep(Duration::from_millis(90));
        assert!(running(&store, Platform::AristaEos).contains("\nvlan 42\n"));
        assert_eq!(store.device(0).state(), ConfigState::default());
    }

    #[test]
    fn eos_timer_unconfirmed_rolls_back_and_abort_rolls_back_at_once() {
        let store = store();
        let before = running(&store, Platform::AristaEos);
        let mut sh = shell(Platform::AristaEos, &store);
        typed(&mut sh, "configure session a");
        typed(&mut sh, "vlan 42");
        typed(&mut sh, "commit timer 00:01:00");
        std::thread::sleep(Duration::from_millis(90));
        assert_eq!(running(&store, Platform::AristaEos), before);
        assert_eq!(store.device(0).rolled_back, 1);
        typed(&mut sh, "configure session b");
        typed(&mut sh, "vlan 43");
        typed(&mut sh, "commit timer 01:00:00");
        assert!(running(&store, Platform::AristaEos).contains("\nvlan 43\n"));
        let out = typed(&mut sh, "configure session b abort");
        assert!(!out.contains('%'), "{out}");
        assert_eq!(running(&store, Platform::AristaEos), before);
        let out = typed(&mut sh, "configure session b abort");
        assert!(out.contains("% Error"), "{out}");
    }

    #[test]
    fn an_eos_session_left_or_cut_off_stays_pending_and_abort_discards_it() {
        let store = store();
        let mut sh = shell(Platform::AristaEos, &store);
        typed(&mut sh, "configure session kept");
        typed(&mut sh, "vlan 42");
        assert_eq!(store.device(0).state().in_config, 1);
        typed(&mut sh, "end");
        let state = store.device(0).state();
        assert_eq!((state.in_config, state.open_sessions.len()), (0, 1));
        typed(&mut sh, "configure session kept abort");
        assert!(store.device(0).state().open_sessions.is_empty());
        // Cut off mid-session: counted, and the session is still there.
        typed(&mut sh, "configure session cut");
        typed(&mut sh, "vlan 44");
        drop(sh);
        let state = store.device(0).state();
        assert_eq!(state.in_config, 0);
        assert_eq!(state.left_in_config, 1);
        assert_eq!(state.open_sessions, ["cut"]);
        // In the session, `abort` discards it and leaves.
        let mut sh = shell(Platform::AristaEos, &store);
        typed(&mut sh, "configure session cut");
        let out = typed(&mut sh, "abort");
        assert!(out.ends_with("r00001#"), "{out}");
        assert!(store.device(0).state().open_sessions.is_empty());
        assert!(!running(&store, Platform::AristaEos).contains("vlan 44"));
    }

    #[test]
    fn xr_target_config_diffs_commits_confirmed_and_rolls_back() {
        let store = store();
        let before = running(&store, Platform::CiscoXr);
        let mut sh = shell(Platform::CiscoXr, &store);
        typed(&mut sh, "configure terminal");
        typed(&mut sh, "ntp server 192.0.2.42");
        let diff = typed(&mut sh, "show commit changes diff");
        assert!(diff.contains("+  server 192.0.2.42\n"), "{diff}");
        assert_eq!(running(&store, Platform::CiscoXr), before);
        typed(&mut sh, "commit confirmed 60");
        assert!(running(&store, Platform::CiscoXr).contains(" server 192.0.2.42\n"));
        typed(&mut sh, "end");
        // Unconfirmed: back by itself.
        std::thread::sleep(Duration::from_millis(90));
        assert_eq!(running(&store, Platform::CiscoXr), before);
        typed(&mut sh, "configure terminal");
        typed(&mut sh, "ntp server 192.0.2.42");
        typed(&mut sh, "commit confirmed 60");
        typed(&mut sh, "end");
        typed(&mut sh, "configure terminal");
        typed(&mut sh, "commit");
        typed(&mut sh, "end");
        std::thread::sleep(Duration::from_millis(90));
        assert!(running(&store, Platform::CiscoXr).contains(" server 192.0.2.42\n"));
        let out = typed(&mut sh, "rollback configuration last 1");
        assert!(out.contains("successfully rolled back 1 commits"), "{out}");
        assert_eq!(running(&store, Platform::CiscoXr), before);
        // `abort` discards the target configuration; unknown lines are refused.
        typed(&mut sh, "configure terminal");
        let out = typed(&mut sh, "frobnicate");
        assert!(out.contains("% Invalid input"), "{out}");
        typed(&mut sh, "ntp server 192.0.2.43");
        let out = typed(&mut sh, "abort");
        assert!(out.ends_with("#"), "{out}");
        assert_eq!(running(&store, Platform::CiscoXr), before);
        assert_eq!(store.device(0).state(), ConfigState::default());
    }
}
