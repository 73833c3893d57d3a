//! Cisco IOS and IOS XE: `r1>` until `enable`, `r1#`, `r1(config-if)#`; errors under a `^`.
//! XE shares the CLI and differs in its version and a few configuration lines.

use super::{Errors, PagerErase, Persona, Prompts, Screen};
use crate::model::DeviceModel;
use crate::shell::commands::IOS_COMMANDS;
use crate::shell::config::IOS_CONFIG;

const PROMPTS: Prompts = Prompts {
    user: "{host}>",
    privileged: "{host}#",
    config: "{host}(config)#",
    sub_config: "{host}({mode})#",
};

const ERRORS: Errors = Errors {
    caret: true,
    invalid: "% Invalid input detected at '^' marker.\n\n",
    unknown_command: None,
    incomplete: "% Incomplete command.\n\n",
    ambiguous: "% Ambiguous command:  \"{command}\"\n",
};

pub(super) const IOS: Persona = Persona {
    name: "cisco_ios",
    ssh_id: "SSH-2.0-Cisco-1.25",
    login_privileged: false,
    login_text: "",
    prompts: PROMPTS,
    commands: IOS_COMMANDS,
    errors: ERRORS,
    screen: Screen::Lines,
    pager: " --More-- ",
    pager_erase: PagerErase::Backspaces,
    paging_off: "terminal length 0",
    config_command: "show running-config",
    version_command: "show version",
    secret_attempts: 1,
    secret_retry: "",
    secret_refused: "% Access denied\n\n",
    config_enter: "Enter configuration commands, one per line.  End with CNTL/Z.\n",
    config_leave: "",
    config: IOS_CONFIG,
    after_output: "",
    length_reply: "",
    width_reply: "",
    running_config: DeviceModel::running_config,
    version: crate::show::version,
};

pub(super) const XE: Persona = Persona {
    name: "cisco_xe",
    running_config: xe_running_config,
    version: xe_version,
    ..IOS
};

/// The IOS configuration as a Catalyst 9300 on 17.3 prints it.
fn xe_running_config(m: &DeviceModel) -> String {
    let body = m
        .config_body()
        .replacen("version 15.2\n", "version 17.3\n", 1)
        .replacen(
            "service password-encryption\n",
            "service password-encryption\nservice call-home\nno platform punt-keepalive disable-kernel-core\n",
            1,
        )
        .replace("provision ws-c3750x-", "provision c9300-");
    format!(
        "Building configuration...\n\nCurrent configuration : {} bytes\n{body}",
        body.len()
    )
}

fn xe_model(m: &DeviceModel) -> String {
    m.platform.replace("WS-C3750X", "C9300")
}

fn xe_version(m: &DeviceModel) -> String {
    let model = xe_model(m);
    format!(
        "Cisco IOS XE Software, Version 17.03.04a\n\
         Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.3.4a, RELEASE SOFTWARE (fc3)\n\
         Technical Support: http://www.cisco.com/techsupport\n\
         Copyright (c) 1986-2021 by Cisco Systems, Inc.\n\
         Compiled Tue 20-Jul-21 06:11 by mcpre\n\
         \n\
         \n\
         Cisco IOS-XE software, Copyright (c) 2005-2021 by cisco Systems, Inc.\n\
         All rights reserved.  Certain components of Cisco IOS-XE software are\n\
         licensed under the GNU General Public License (\"GPL\") Version 2.0.\n\
         \n\
         ROM: IOS-XE ROMMON\n\
         BOOTLDR: System Bootstrap, Version 17.6.1r[FC2], RELEASE SOFTWARE (P)\n\
         \n\
         {host} uptime is {uptime}\n\
         Uptime for this control processor is {uptime}\n\
         System returned to ROM by Reload Command\n\
         System image file is \"flash:packages.conf\"\n\
         Last reload reason: Reload Command\n\
         \n\
         Technology Package License Information:\n\
         \n\
         ------------------------------------------------------------------------------\n\
         Technology-package                                     Technology-package\n\
         Current                        Type                       Next reboot\n\
         ------------------------------------------------------------------------------\n\
         network-advantage     \tSmart License                 \t network-advantage\n\
         dna-advantage         \tSubscription Smart License    \t dna-advantage\n\
         \n\
         cisco {model} (X86) processor with 1338934K/6147K bytes of memory.\n\
         Processor board ID {serial}\n\
         2048K bytes of non-volatile configuration memory.\n\
         8388608K bytes of physical memory.\n\
         \n\
         Switch Ports Model              SW Version        SW Image              Mode\n\
         ------ ----- -----              ----------        ----------            ----\n\
         *    1 {ports:<5} {model:<18} 17.03.04a         CAT9K_IOSXE           INSTALL\n\
         \n\
         \n\
         Configuration register is 0x102\n\
         \n",
        host = m.hostname,
        uptime = m.uptime,
        serial = m.serial,
        ports = m.interfaces.iter().filter(|i| i.physical).count() + 1,
    )
}
