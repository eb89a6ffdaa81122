//! The fleet the benchmark watches: libvirt test-driver node files of 20 VMs each and a config
//! naming them. VMs vary the way a real fleet does (sizes, states, disks, NICs, metadata or
//! none), so the UI sorts, filters and finds problems in something like what operators see; a
//! seeded generator keeps every run's fleet the same.

use chrono::{DateTime, Duration, Utc};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const VMS_PER_HOST: usize = 20;
const SITES: [&str; 6] = ["ams", "fra", "lon", "par", "nyc", "sin"];

/// splitmix64: tiny and good enough to vary a fleet; no crate needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn percent(&mut self) -> u64 {
        self.below(100)
    }
}

/// A kind of VM: how it is named and sized, and what policy group it belongs to.
struct Role {
    prefix: &'static str,
    title: &'static str,
    group: &'static str,
    /// Named per site (`db-ams-07`) rather than fleet-wide (`web-0042`).
    per_site: bool,
    vcpus: &'static [u32],
    memory_mib: &'static [u64],
    disks: (u64, u64),
    nics: (u64, u64),
}

// One role a line reads as the table it is.
#[rustfmt::skip]
const ROLES: [Role; 9] = [
    role("web", "Storefront web frontend (nginx + php-fpm)", "web", false, &[2, 4, 4, 8], &[2048, 4096, 8192], (1, 1), (1, 2)),
    role("api", "Public REST API", "api", false, &[4, 8, 8], &[8192, 16384], (1, 2), (1, 2)),
    role("db", "PostgreSQL 16", "db", true, &[8, 16, 16], &[32768, 65536], (2, 3), (2, 2)),
    role("cache", "Redis cache", "cache", true, &[2, 4], &[4096, 8192, 16384], (1, 1), (1, 1)),
    role("mq", "RabbitMQ broker", "mq", true, &[2, 4], &[4096, 8192], (1, 2), (1, 2)),
    role("batch", "Nightly batch worker", "batch", false, &[8, 16], &[16384, 32768], (2, 3), (1, 1)),
    role("ci-runner", "GitLab runner (docker executor)", "ci", false, &[4, 8, 16], &[8192, 16384], (1, 2), (1, 1)),
    role("k8s-node", "Kubernetes worker", "k8s", true, &[8, 16], &[16384, 32768, 65536], (1, 2), (1, 2)),
    role("mon", "Prometheus + Alertmanager", "ops", true, &[1, 2], &[512, 1024, 2048], (1, 2), (1, 1)),
];

#[allow(clippy::too_many_arguments)]
const fn role(
    prefix: &'static str,
    title: &'static str,
    group: &'static str,
    per_site: bool,
    vcpus: &'static [u32],
    memory_mib: &'static [u64],
    disks: (u64, u64),
    nics: (u64, u64),
) -> Role {
    Role {
        prefix,
        title,
        group,
        per_site,
        vcpus,
        memory_mib,
        disks,
        nics,
    }
}

/// What was written: the config to start fleetwatch with and how many VMs it names.
pub struct Written {
    pub config: PathBuf,
    pub vms: usize,
    pub bytes: u64,
    /// Every host's node file, in host order.
    pub files: Vec<PathBuf>,
}

pub fn host_name(i: usize) -> String {
    format!("hv-{}-{i:04}", SITES[i % SITES.len()])
}

/// Names stay unique across the fleet, as a team's naming scheme keeps them.
#[derive(Default)]
struct Counters {
    per_role: [usize; ROLES.len()],
    mac: u32,
}

fn uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next(), rng.next());
    // Version 4, variant 10: what `uuidgen` makes.
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000;
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

fn metadata(out: &mut String, rng: &mut Rng, r: &Role, vcpus: u32, mib: u64, now: DateTime<Utc>) {
    let p = rng.percent();
    if p < 15 {
        return; // Nobody approved it: an unapproved finding.
    }
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let expired = rng.percent() < 5;
    let expires = now
        + Duration::days(if expired {
            -20
        } else {
            90 + rng.below(600) as i64
        });
    // Some VMs grew past what was approved: drift.
    let (av, am) = if rng.percent() < 8 {
        (vcpus.div_ceil(2), mib / 2)
    } else {
        (vcpus, mib)
    };
    let _ = write!(
        out,
        "    <metadata>\n      <fw:fleet xmlns:fw=\"urn:fleetwatch:1\">\n        \
         <fw:approval owner=\"team-{}\" ticket=\"CHG-{}\" expires=\"{}\" group=\"{}\" vcpus=\"{av}\" memory_mib=\"{am}\"/>\n",
        r.group,
        1000 + rng.below(9000),
        expires.format("%Y-%m-%d"),
        r.group,
    );
    if p >= 30 {
        // Most backups ran last night; some stopped a few days ago (unbacked).
        let hours = if rng.percent() < 10 {
            30 + rng.below(100)
        } else {
            1 + rng.below(20)
        };
        let _ = writeln!(
            out,
            "        <fw:backup last=\"{}\"/>",
            stamp(now - Duration::hours(hours as i64))
        );
    }
    out.push_str("      </fw:fleet>\n    </metadata>\n");
}

struct Vm {
    name: String,
    uuid: String,
}

#[allow(clippy::too_many_arguments)]
fn domain(
    out: &mut String,
    rng: &mut Rng,
    c: &mut Counters,
    host: usize,
    tap: &mut u32,
    now: DateTime<Utc>,
    clone_of: Option<&Vm>,
) -> Vm {
    let ri = rng.below(ROLES.len() as u64) as usize;
    let r = &ROLES[ri];
    c.per_role[ri] += 1;
    let n = c.per_role[ri];
    let site = SITES[host % SITES.len()];
    let vm = match clone_of {
        // The same VM running on two hosts (a botched migration): split-brain.
        Some(v) => Vm {
            name: v.name.clone(),
            uuid: v.uuid.clone(),
        },
        None if r.per_site => Vm {
            name: format!("{}-{site}-{n:02}", r.prefix),
            uuid: uuid(rng),
        },
        None => Vm {
            name: format!("{}-{n:04}", r.prefix),
            uuid: uuid(rng),
        },
    };
    let vcpus = *rng.pick(r.vcpus);
    let mib = *rng.pick(r.memory_mib);
    let state = match rng.percent() {
        _ if clone_of.is_some() => None,
        0..=84 => None,
        85..=91 => Some(3), // paused
        _ => Some(5),       // shut off
    };
    let _ = write!(
        out,
        "  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n    \
         <name>{}</name>\n    <uuid>{}</uuid>\n    <title>{}</title>\n",
        vm.name, vm.uuid, r.title
    );
    metadata(out, rng, r, vcpus, mib, now);
    let current = if rng.percent() < 20 { mib * 7 / 8 } else { mib };
    let _ = write!(
        out,
        "    <memory unit='KiB'>{}</memory>\n    <currentMemory unit='KiB'>{}</currentMemory>\n    \
         <vcpu placement='static'>{vcpus}</vcpu>\n    <os>\n      <type arch='x86_64'>hvm</type>\n      \
         <boot dev='hd'/>\n    </os>\n    <devices>\n",
        mib * 1024,
        current * 1024
    );
    let disks = r.disks.0 + rng.below(r.disks.1 - r.disks.0 + 1);
    for d in 0..disks {
        // The system disk is mostly on shared storage; data disks are often local NVMe.
        let local = if d == 0 {
            rng.percent() < 10
        } else {
            rng.percent() < 50
        };
        let dir = if local {
            "/var/lib/libvirt/images"
        } else {
            "/srv/shared/images"
        };
        let dev = (b'a' + d as u8) as char;
        let _ = write!(
            out,
            "      <disk type='file' device='disk'>\n        <driver name='qemu' type='qcow2'/>\n        \
             <source file='{dir}/{}-{d}.qcow2'/>\n        <target dev='vd{dev}' bus='virtio'/>\n      </disk>\n",
            vm.name
        );
    }
    let nics = r.nics.0 + rng.below(r.nics.1 - r.nics.0 + 1);
    for k in 0..nics {
        c.mac += 1;
        let m = c.mac;
        let bridge = if k == 0 { "br-prod" } else { "br-mgmt" };
        let _ = write!(
            out,
            "      <interface type='bridge'>\n        <mac address='52:54:00:{:02x}:{:02x}:{:02x}'/>\n        \
             <source bridge='{bridge}'/>\n        <target dev='tap{}'/>\n        <model type='virtio'/>\n      </interface>\n",
            (m >> 16) & 0xFF,
            (m >> 8) & 0xFF,
            m & 0xFF,
            *tap
        );
        *tap += 1;
    }
    out.push_str("    </devices>\n");
    if let Some(s) = state {
        let _ = writeln!(out, "    <test:runstate>{s}</test:runstate>");
    }
    out.push_str("  </domain>\n");
    vm
}

fn node(out: &mut String, rng: &mut Rng) {
    let (cores, threads) = *rng.pick(&[(16u32, 2u32), (24, 2), (32, 2), (64, 1)]);
    let gib = *rng.pick(&[512u64, 768, 1024]);
    let _ = write!(
        out,
        "<node>\n  <cpu>\n    <mhz>2800</mhz>\n    <model>Xeon Gold 6342</model>\n    <nodes>2</nodes>\n    \
         <sockets>1</sockets>\n    <cores>{cores}</cores>\n    <threads>{threads}</threads>\n  </cpu>\n  \
         <memory>{}</memory>\n",
        gib * 1024 * 1024
    );
}

/// Writes `hosts` node files and `fleetwatch.toml` into `dir`. Every 100th host also runs a
/// copy of the previous host's first VM, so split-brain findings exist at every size but 50.
pub fn write(dir: &Path, hosts: usize, history: &Path) -> std::io::Result<Written> {
    let now = Utc::now();
    let mut rng = Rng(0x5EED_F1EE_7000_0000);
    let mut c = Counters::default();
    let mut config = format!(
        "# Written by benches/process.rs.\n[poll]\ninterval = \"2s\"\n\n[history]\nenabled = true\npath = {:?}\n\n\
         [policy]\nshared_storage = [\"/srv/shared/\"]\nbackup_max_age = \"24h\"\n\n[policy.group.db]\nbackup_max_age = \"6h\"\n\n\
         [policy.group.ci]\nbackup_max_age = \"8d\"\n",
        history.display().to_string()
    );
    let (mut vms, mut bytes, mut previous_first): (usize, u64, Option<Vm>) = (0, 0, None);
    let mut files = Vec::with_capacity(hosts);
    let mut xml = String::with_capacity(64 * 1024);
    for h in 0..hosts {
        xml.clear();
        let name = host_name(h);
        let _ = writeln!(xml, "<!-- fleetwatch benchmark host {name} -->");
        node(&mut xml, &mut rng);
        let mut tap = 0;
        for v in 0..VMS_PER_HOST {
            let clone = if v == 0 && h % 100 == 99 {
                previous_first.as_ref()
            } else {
                None
            };
            let vm = domain(&mut xml, &mut rng, &mut c, h, &mut tap, now, clone);
            if v == 0 {
                previous_first = Some(vm);
            }
        }
        xml.push_str("</node>\n");
        vms += VMS_PER_HOST;
        let path = dir.join(format!("{name}.xml"));
        std::fs::write(&path, &xml)?;
        bytes += xml.len() as u64;
        let site = SITES[h % SITES.len()];
        let _ = write!(
            config,
            "\n[[host]]\nname = \"{name}\"\nuri = \"test://{}\"\ntags = [\"{site}\", \"prod\"]\n",
            path.display()
        );
        files.push(path);
    }
    let path = dir.join("fleetwatch.toml");
    std::fs::write(&path, config)?;
    Ok(Written {
        config: path,
        vms,
        bytes,
        files,
    })
}
