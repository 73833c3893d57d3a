//! SNMPv2c for every device of the fleet from one wildcard UDP socket, as the TCP listeners do:
//! `IP_PKTINFO` tells which device address each request was sent to, and the answer leaves from
//! that address, so a client sees each device answer for itself.
//!
//! The answers come from the same state as the CLI: interfaces and their descriptions from the
//! device's model, oper status with the fleet's flaps (scheduled or forced through the control
//! API) applied, CPU from the same dynamics as `show processes cpu`, and traffic counters that
//! advance with time at a seeded rate per interface (from the fleet's start; an interface that
//! is down in the static model carries no traffic), plus whatever extra traffic the control
//! API pushed through it (`POST /devices/{name}/traffic`), so a poller sees utilisation rise
//! and fall. A request with another community goes unanswered, as a real agent does. SNMPv3
//! requests go through USM ([`crate::usm`]) for the fleet's users, each device its own engine.

use crate::dynamics::Dynamics;
use crate::fleet::FleetShared;
use crate::model::{DeviceModel, Rng};
use crate::usm::{self, SnmpConfig};
use async_snmp::message::{CommunityMessage, Message};
use async_snmp::pdu::Pdu;
use async_snmp::{DecodeConfig, Oid, PduType, ResponsePdu, Value, VarBind, Version};
use bytes::Bytes;
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, recvmsg, sendmsg, setsockopt,
    sockopt,
};
use std::collections::BTreeMap;
use std::io::{IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// Largest answer sent; a GETBULK that would pass it gets fewer repetitions. Below the 65,507
/// bytes a UDP datagram can carry, and what net-snmp's clients accept.
const MAX_RESPONSE: usize = 60_000;
/// Receive buffer asked for the agent's socket.
const RECV_BUFFER: usize = 8 << 20;
/// Cap on one GETBULK's repetitions, whatever the client asks.
const MAX_REPETITIONS: usize = 200;

/// How long a device's objects are reused between requests. A walk takes dozens of GETBULKs;
/// rebuilding the view for each would cost more than the answers. Real agents cache their
/// interface table for a few seconds too (net-snmp for 3 to 5), so counters stepping every few
/// seconds is what pollers expect.
const VIEW_TTL: std::time::Duration = std::time::Duration::from_secs(3);

/// A device's objects and when they were built.
type CachedView = (Instant, Arc<DeviceView>);

/// What the agent shares with the fleet.
pub(crate) struct SnmpAgent {
    /// The v2c community; `None` answers no v2c.
    pub community: Option<String>,
    /// SNMPv3 users and their keys; `None` answers no v3.
    pub usm: Option<usm::Usm>,
    pub started: Instant,
    /// Each device's objects as last built, by index.
    pub views: Vec<std::sync::Mutex<Option<CachedView>>>,
}

impl SnmpAgent {
    /// The agent for `config`; an unusable v3 password is an error naming its user.
    pub(crate) fn new(config: &SnmpConfig, devices: usize) -> Result<Self, String> {
        let usm = match config.users.is_empty() {
            true => None,
            false => Some(usm::Usm::new(&config.users, devices)?),
        };
        Ok(Self {
            community: config.community.clone(),
            usm,
            started: Instant::now(),
            views: (0..devices).map(|_| std::sync::Mutex::new(None)).collect(),
        })
    }

    /// Device `index`'s objects, rebuilt when older than [`VIEW_TTL`].
    fn view(&self, shared: &FleetShared, index: usize) -> Arc<DeviceView> {
        let mut slot = self.views[index].lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            Some((built, view)) if built.elapsed() < VIEW_TTL => view.clone(),
            _ => {
                let view = Arc::new(DeviceView::build(self, shared, index));
                *slot = Some((Instant::now(), view.clone()));
                view
            }
        }
    }
}

/// Binds `address` (the wildcard, or a one-device fleet's own address) with `IP_PKTINFO` on.
pub(crate) fn bind(address: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = std::net::UdpSocket::bind(address)?;
    socket.set_nonblocking(true)?;
    setsockopt(&socket, sockopt::Ipv4PacketInfo, &true).map_err(std::io::Error::from)?;
    // A poller starting on a whole fleet sends thousands of requests at once; the default
    // buffer (about 200 KB) drops most of them. The kernel caps this at net.core.rmem_max.
    setsockopt(&socket, sockopt::RcvBuf, &RECV_BUFFER).map_err(std::io::Error::from)?;
    UdpSocket::from_std(socket)
}

/// Answers requests until `cancel`.
pub(crate) async fn serve(
    socket: Arc<UdpSocket>,
    agent: Arc<SnmpAgent>,
    shared: Arc<FleetShared>,
    cancel: CancellationToken,
) {
    let mut buffer = vec![0u8; 65_536];
    loop {
        let received = tokio::select! {
            () = cancel.cancelled() => return,
            r = socket.async_io(Interest::READABLE, || receive(&socket, &mut buffer)) => r,
        };
        let (len, source, destination) = match received {
            Ok(r) => r,
            Err(e) => {
                debug!(error = %e, "snmp receive failed");
                continue;
            }
        };
        let Some(index) = destination.and_then(|d| shared.device_at(Some(SocketAddr::V4(d))))
        else {
            continue;
        };
        let request = Bytes::copy_from_slice(&buffer[..len]);
        // Answered on its own task, so a fleet's requests use every core while this loop
        // keeps draining the socket.
        let (socket, agent, shared) = (socket.clone(), agent.clone(), shared.clone());
        tokio::spawn(async move {
            let Some(answer) = answer(&agent, &shared, index, request) else {
                return;
            };
            let local = destination.map(|d| *d.ip());
            let sent = socket
                .async_io(Interest::WRITABLE, || {
                    reply(&socket, &answer, source, local)
                })
                .await;
            if let Err(e) = sent {
                debug!(error = %e, "snmp reply failed");
            }
        });
    }
}

/// One datagram: its length, sender and the local address it was sent to.
fn receive(
    socket: &UdpSocket,
    buffer: &mut [u8],
) -> std::io::Result<(usize, SocketAddrV4, Option<SocketAddrV4>)> {
    let mut control = nix::cmsg_space!(nix::libc::in_pktinfo);
    let mut iov = [IoSliceMut::new(buffer)];
    let message = recvmsg::<SockaddrIn>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::empty(),
    )
    .map_err(std::io::Error::from)?;
    let source = message
        .address
        .map(SocketAddrV4::from)
        .ok_or_else(|| std::io::Error::other("datagram without a sender"))?;
    let port = socket.local_addr()?.port();
    let mut destination = None;
    for cmsg in message.cmsgs().map_err(std::io::Error::from)? {
        if let ControlMessageOwned::Ipv4PacketInfo(info) = cmsg {
            let ip = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
            destination = Some(SocketAddrV4::new(ip, port));
        }
    }
    Ok((message.bytes, source, destination))
}

/// Sends `answer` to `to` from `from` (the device's address).
fn reply(
    socket: &UdpSocket,
    answer: &[u8],
    to: SocketAddrV4,
    from: Option<Ipv4Addr>,
) -> std::io::Result<()> {
    let info = from.map(|ip| nix::libc::in_pktinfo {
        ipi_ifindex: 0,
        ipi_spec_dst: nix::libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        ipi_addr: nix::libc::in_addr { s_addr: 0 },
    });
    let cmsgs: Vec<ControlMessage<'_>> = info.iter().map(ControlMessage::Ipv4PacketInfo).collect();
    sendmsg(
        socket.as_raw_fd(),
        &[IoSlice::new(answer)],
        &cmsgs,
        MsgFlags::empty(),
        Some(&SockaddrIn::from(to)),
    )
    .map(|_| ())
    .map_err(std::io::Error::from)
}

/// The answer to one request for device `index`, or `None` to stay silent (v2c with a wrong
/// community or none served, v3 without users, not a read, undecodable).
fn answer(agent: &SnmpAgent, shared: &FleetShared, index: usize, request: Bytes) -> Option<Bytes> {
    match Message::decode(request.clone(), DecodeConfig::default())
        .ok()?
        .value
    {
        Message::Community(message) => {
            let community = agent.community.as_deref()?;
            if message.version() != Version::V2c
                || message.community().as_bytes() != community.as_bytes()
            {
                return None;
            }
            let community = message.community().clone();
            let (request_id, varbinds) = read(&agent.view(shared, index), message.into_pdu()?)?;
            encode_fitting(community, request_id, varbinds)
        }
        Message::V3(message) => match agent.usm.as_ref()?.accept(index, &request, message) {
            usm::Outcome::Report(report) => Some(report),
            usm::Outcome::Drop => None,
            usm::Outcome::Accepted(accepted) => {
                let (request_id, varbinds) =
                    read(&agent.view(shared, index), accepted.pdu.clone())?;
                agent
                    .usm
                    .as_ref()?
                    .respond(index, &accepted, request_id, varbinds, MAX_RESPONSE)
            }
        },
    }
}

/// A read request's request-id and the varbinds answering it, from `view`; `None` for
/// anything but GET, GETNEXT and GETBULK.
fn read(view: &DeviceView, pdu: Pdu) -> Option<(i32, Vec<VarBind>)> {
    let kind = pdu.pdu_type();
    let bulk = pdu.get_bulk_fields();
    let (request_id, _, asked) = pdu.into_raw_parts();
    let varbinds = match kind {
        PduType::GetRequest => asked
            .iter()
            .map(|v| match view.objects.get(&v.oid) {
                Some(value) => VarBind::new(v.oid.clone(), value.clone()),
                None if view.objects.keys().any(|k| k.starts_with(&v.oid)) => {
                    VarBind::new(v.oid.clone(), Value::NoSuchInstance)
                }
                None => VarBind::new(v.oid.clone(), Value::NoSuchObject),
            })
            .collect(),
        PduType::GetNextRequest => asked.iter().map(|v| view.next(&v.oid)).collect(),
        PduType::GetBulkRequest => {
            let (non_repeaters, repetitions) = bulk?;
            let non_repeaters = (non_repeaters as usize).min(asked.len());
            let repetitions = (repetitions as usize).min(MAX_REPETITIONS);
            let mut varbinds: Vec<VarBind> = asked[..non_repeaters]
                .iter()
                .map(|v| view.next(&v.oid))
                .collect();
            let mut cursors: Vec<Oid> = asked[non_repeaters..]
                .iter()
                .map(|v| v.oid.clone())
                .collect();
            for _ in 0..repetitions {
                if cursors.is_empty() {
                    break;
                }
                let mut all_ended = true;
                for cursor in &mut cursors {
                    let next = view.next(cursor);
                    all_ended &= next.value == Value::EndOfMibView;
                    *cursor = next.oid.clone();
                    varbinds.push(next);
                }
                if all_ended {
                    break;
                }
            }
            varbinds
        }
        _ => return None,
    };
    Some((request_id, varbinds))
}

/// The response, with trailing varbinds dropped until it fits [`MAX_RESPONSE`] (a GETBULK may
/// answer with fewer repetitions than asked).
fn encode_fitting(
    community: async_snmp::Community,
    request_id: i32,
    mut varbinds: Vec<VarBind>,
) -> Option<Bytes> {
    loop {
        let pdu = ResponsePdu::success(Version::V2c, request_id, varbinds.clone()).ok()?;
        let encoded = CommunityMessage::v2c(community.clone(), pdu.into_raw())
            .ok()?
            .encode()
            .ok()?;
        if encoded.len() <= MAX_RESPONSE || varbinds.len() <= 1 {
            return Some(encoded);
        }
        varbinds.truncate(varbinds.len() / 2);
    }
}

/// A device's objects at one instant, in OID order.
pub(crate) struct DeviceView {
    objects: BTreeMap<Oid, Value>,
}

fn oid(prefix: &[u32], rest: &[u32]) -> Oid {
    Oid::new(prefix.iter().chain(rest).copied())
}

const SYSTEM: &[u32] = &[1, 3, 6, 1, 2, 1, 1];
const IF_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1];
const IFX_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1];
const CPM_CPU_ENTRY: &[u32] = &[1, 3, 6, 1, 4, 1, 9, 9, 109, 1, 1, 1, 1];
const HR_PROCESSOR_LOAD: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2];

impl DeviceView {
    fn build(agent: &SnmpAgent, shared: &FleetShared, index: usize) -> Self {
        let device = &shared.devices[index];
        let model = DeviceModel::generate(&device.name, shared.seed);
        let dynamics: &Dynamics = &shared.dynamics;
        let live = dynamics.interfaces(index).unwrap_or_default();
        let elapsed = agent.started.elapsed();
        let ticks = (elapsed.as_millis() / 10) as u32;
        let mut objects = BTreeMap::new();
        let text = |s: &str| Value::OctetString(Bytes::copy_from_slice(s.as_bytes()));
        objects.insert(
            oid(SYSTEM, &[1, 0]),
            text(&format!(
                "{} Software ({}), devsim simulated device {}",
                device.platform.name(),
                model.platform,
                device.name
            )),
        );
        objects.insert(
            oid(SYSTEM, &[2, 0]),
            Value::ObjectIdentifier(Oid::new([1, 3, 6, 1, 4, 1, 9, 1, 1])),
        );
        objects.insert(oid(SYSTEM, &[3, 0]), Value::TimeTicks(ticks));
        objects.insert(oid(SYSTEM, &[4, 0]), text("noc@example.net"));
        objects.insert(oid(SYSTEM, &[5, 0]), text(&model.hostname));
        objects.insert(oid(SYSTEM, &[6, 0]), text(model.site));
        objects.insert(oid(SYSTEM, &[7, 0]), Value::Integer(6));
        objects.insert(
            oid(&[1, 3, 6, 1, 2, 1, 2, 1], &[0]),
            Value::Integer(model.interfaces.len() as i32),
        );
        let seconds = elapsed.as_secs_f64();
        for (position, interface) in model.interfaces.iter().enumerate() {
            let i = position as u32 + 1;
            let speed_bps: u64 = if interface.name.starts_with("TenGig") {
                10_000_000_000
            } else if interface.name.starts_with("Gigabit") {
                1_000_000_000
            } else {
                100_000_000
            };
            let oper_up = live
                .iter()
                .find(|l| l.name == interface.name)
                .map_or(interface.is_up(), |l| l.status == "up");
            // Traffic: a seeded share of the line rate, from the fleet's start.
            let mut rng = Rng::new(&device.name, shared.seed, 40 + u64::from(i));
            let (in_share, out_share) = (1 + rng.below(30), 1 + rng.below(30));
            let carries = interface.is_up();
            // Forced traffic counts whatever the link state, so a counter never goes back.
            let extra = dynamics.extra_traffic(index, &interface.name);
            let octets = |share: u64| {
                let base = rng_base(&device.name, shared.seed, i, share);
                let usual = match carries {
                    true => speed_bps as f64 * share as f64 / 100.0 / 8.0 * seconds,
                    false => 0.0,
                };
                base + (usual + speed_bps as f64 / 8.0 * extra) as u64
            };
            let (in_octets, out_octets) = (octets(in_share), octets(out_share));
            let kind = if interface.name.starts_with("Loopback") {
                24
            } else if interface.name.starts_with("Vlan") {
                53
            } else {
                6
            };
            let mac = [0x00, 0x1a, 0x2b, (index >> 8) as u8, index as u8, i as u8];
            let mut put = |entry: &[u32], column: u32, value: Value| {
                objects.insert(oid(entry, &[column, i]), value);
            };
            put(IF_ENTRY, 1, Value::Integer(i as i32));
            put(IF_ENTRY, 2, text(&interface.name));
            put(IF_ENTRY, 3, Value::Integer(kind));
            put(IF_ENTRY, 4, Value::Integer(1500));
            put(
                IF_ENTRY,
                5,
                Value::Gauge32(speed_bps.min(u64::from(u32::MAX)) as u32),
            );
            put(
                IF_ENTRY,
                6,
                Value::OctetString(Bytes::copy_from_slice(&mac)),
            );
            put(
                IF_ENTRY,
                7,
                Value::Integer(if interface.shutdown { 2 } else { 1 }),
            );
            put(IF_ENTRY, 8, Value::Integer(if oper_up { 1 } else { 2 }));
            put(IF_ENTRY, 9, Value::TimeTicks(0));
            put(IF_ENTRY, 10, Value::Counter32(in_octets as u32));
            put(IF_ENTRY, 11, Value::Counter32((in_octets / 700) as u32));
            put(IF_ENTRY, 13, Value::Counter32(0));
            put(IF_ENTRY, 14, Value::Counter32(0));
            put(IF_ENTRY, 16, Value::Counter32(out_octets as u32));
            put(IF_ENTRY, 17, Value::Counter32((out_octets / 700) as u32));
            put(IF_ENTRY, 19, Value::Counter32(0));
            put(IF_ENTRY, 20, Value::Counter32(0));
            put(IFX_ENTRY, 1, text(&interface.short_name()));
            put(IFX_ENTRY, 6, Value::Counter64(in_octets));
            put(IFX_ENTRY, 7, Value::Counter64(in_octets / 700));
            put(IFX_ENTRY, 10, Value::Counter64(out_octets));
            put(IFX_ENTRY, 11, Value::Counter64(out_octets / 700));
            put(
                IFX_ENTRY,
                15,
                Value::Gauge32((speed_bps / 1_000_000) as u32),
            );
            put(
                IFX_ENTRY,
                18,
                text(interface.description.as_deref().unwrap_or_default()),
            );
        }
        let five = u32::from(dynamics.cpu(index).unwrap_or(3));
        // The one- and five-minute figures lag as `show processes cpu` prints them.
        let (one, five_min) = ((five + 12) / 4, (five + 35) / 8);
        objects.insert(oid(CPM_CPU_ENTRY, &[2, 1]), Value::Integer(1));
        objects.insert(oid(CPM_CPU_ENTRY, &[6, 1]), Value::Gauge32(five));
        objects.insert(oid(CPM_CPU_ENTRY, &[7, 1]), Value::Gauge32(one));
        objects.insert(oid(CPM_CPU_ENTRY, &[8, 1]), Value::Gauge32(five_min));
        objects.insert(oid(HR_PROCESSOR_LOAD, &[1]), Value::Integer(one as i32));
        Self { objects }
    }

    /// GETNEXT: the first object after `oid`, or `endOfMibView`.
    fn next(&self, after: &Oid) -> VarBind {
        use std::ops::Bound::{Excluded, Unbounded};
        match self.objects.range((Excluded(after), Unbounded)).next() {
            Some((oid, value)) => VarBind::new(oid.clone(), value.clone()),
            None => VarBind::new(after.clone(), Value::EndOfMibView),
        }
    }
}

/// Where an interface's counter stood at the fleet's start: seeded, so two devices differ.
fn rng_base(name: &str, seed: u64, interface: u32, share: u64) -> u64 {
    Rng::new(name, seed ^ share, 60 + u64::from(interface)).below(1 << 40)
}
