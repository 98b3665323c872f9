//! The air-gap guard: is this machine off the network?
//!
//! Reads `/sys` only (no tools): network interfaces other than loopback that are up, and
//! wireless, Bluetooth and WWAN radios that rfkill does not block. The root of the tree is a
//! parameter so tests can hand it a fake `/sys`.
//!
//! Invariant: it fails closed — what it cannot read (no `/sys/class/net`, an interface whose
//! flags are unreadable) is a finding, never a pass.

use serde::Serialize;
use std::fs;
use std::path::Path;

/// One thing that is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    pub name: String,
    pub detail: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.kind, self.name, self.detail)
    }
}

const IFF_UP: u64 = 0x1;

fn read_trim(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

/// What is on, read from the `/sys` tree at `sys`.
pub fn check(sys: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    let net = sys.join("class/net");
    let mut ifaces: Vec<_> = match fs::read_dir(&net) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect(),
        Err(e) => {
            return vec![Finding {
                kind: "network interface list",
                name: net.display().to_string(),
                detail: format!(
                    "cannot be read ({e}): the guard cannot tell that this machine is offline"
                ),
            }];
        }
    };
    ifaces.sort();
    for name in ifaces {
        let name = name.to_string_lossy().to_string();
        if name == "lo" {
            continue;
        }
        let dir = net.join(&name);
        let oper = read_trim(&dir.join("operstate")).unwrap_or_else(|| "unknown".into());
        let Some(flags) = read_trim(&dir.join("flags"))
            .and_then(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16).ok())
        else {
            out.push(Finding {
                kind: "network interface",
                name,
                detail: "its flags cannot be read: it may be up".into(),
            });
            continue;
        };
        let admin_up = flags & IFF_UP != 0;
        let down = matches!(oper.as_str(), "down" | "notpresent" | "lowerlayerdown");
        if admin_up && !down {
            let kind = if dir.join("wireless").exists() {
                "wireless interface"
            } else {
                "network interface"
            };
            out.push(Finding {
                kind,
                name,
                detail: format!("up, state {oper}"),
            });
        }
    }
    let rfkill = sys.join("class/rfkill");
    let mut radios: Vec<_> = fs::read_dir(&rfkill)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    radios.sort();
    for dir in radios {
        let ty = read_trim(&dir.join("type")).unwrap_or_default();
        let kind = match ty.as_str() {
            "wlan" => "wireless radio",
            "bluetooth" => "Bluetooth radio",
            "wwan" => "mobile broadband radio",
            _ => continue,
        };
        let soft = read_trim(&dir.join("soft")).as_deref() == Some("1");
        let hard = read_trim(&dir.join("hard")).as_deref() == Some("1");
        if !soft && !hard {
            let name = read_trim(&dir.join("name")).unwrap_or_else(|| {
                dir.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default()
            });
            out.push(Finding {
                kind,
                name,
                detail: "not blocked by rfkill".into(),
            });
        }
    }
    out
}

/// The hint shown with a refusal.
pub const HINT: &str = "take the machine off the network (unplug the cable, `ip link set DEV down`, `rfkill block all`) and run again; for a dry run on an online machine pass --allow-online or set ROOTCELLAR_ALLOW_ONLINE=1";

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    #[test]
    fn finds_up_interfaces_and_unblocked_radios_only() {
        let d = tempfile::tempdir().unwrap();
        let s = d.path();
        put(s, "class/net/lo/operstate", "unknown\n");
        put(s, "class/net/lo/flags", "0x9\n");
        put(s, "class/net/eth0/operstate", "up\n");
        put(s, "class/net/eth0/flags", "0x1003\n");
        put(s, "class/net/eth1/operstate", "down\n");
        put(s, "class/net/eth1/flags", "0x1002\n");
        put(s, "class/net/docker0/operstate", "down\n");
        put(s, "class/net/docker0/flags", "0x1003\n");
        put(s, "class/net/wlan0/operstate", "dormant\n");
        put(s, "class/net/wlan0/flags", "0x1003\n");
        fs::create_dir_all(s.join("class/net/wlan0/wireless")).unwrap();
        put(s, "class/rfkill/rfkill0/type", "wlan\n");
        put(s, "class/rfkill/rfkill0/soft", "0\n");
        put(s, "class/rfkill/rfkill0/hard", "0\n");
        put(s, "class/rfkill/rfkill0/name", "phy0\n");
        put(s, "class/rfkill/rfkill1/type", "bluetooth\n");
        put(s, "class/rfkill/rfkill1/soft", "1\n");
        put(s, "class/rfkill/rfkill1/hard", "0\n");
        let f = check(s);
        let names: Vec<_> = f.iter().map(|x| (x.kind, x.name.as_str())).collect();
        assert_eq!(
            names,
            vec![
                ("network interface", "eth0"),
                ("wireless interface", "wlan0"),
                ("wireless radio", "phy0")
            ]
        );
    }

    #[test]
    fn an_offline_machine_has_no_findings() {
        let d = tempfile::tempdir().unwrap();
        put(d.path(), "class/net/lo/operstate", "unknown\n");
        put(d.path(), "class/net/lo/flags", "0x9\n");
        assert!(check(d.path()).is_empty());
    }
}
