//! Hosts, VMs and the time-shared CPU scheduler as CloudSim 3.0.3's power package
//! models them (`HostDynamicWorkload`, `PowerHost`, `PowerVm`,
//! `VmSchedulerTimeSharedOverSubscription`, `UtilizationModelPlanetLabInMemory`).
//!
//! The arithmetic follows CloudSim's operation by operation (the order of products, the
//! `/ 0.9` of a migrating VM, `floor` under over-subscription), because the published
//! numbers come out of exactly these expressions: a different but equivalent formula
//! shifts SLA-violation flags by one ulp.

use std::collections::VecDeque;

/// A migrating VM keeps this share of its MIPS on the source...
pub const MIGRATION_SOURCE_FRAC: f64 = 0.9;
/// ...and this share is allocated for it on the target.
pub const MIGRATION_TARGET_FRAC: f64 = 0.1;
/// A VM's CPU history (`PowerVm.HISTORY_LENGTH`), newest first.
pub const HISTORY_LEN: usize = 30;

/// One state-history entry: MIPS allocated and requested, and a flag (a host: active;
/// a VM: migrating out).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    t: f64,
    alloc: f64,
    req: f64,
    flag: bool,
}

/// A host's state history folded as it is written. CloudSim replaces an entry written
/// at the same time as the last one, then integrates each entry up to the next
/// (`Helper.getSlaTimePerActiveHost`, `getTimesBeforeHostShutdown`).
#[derive(Debug, Clone)]
pub struct HostAcc {
    last: Option<Entry>,
    committed_active: bool,
    pub active_s: f64,
    pub violation_s: f64,
    pub shutdowns: u32,
    pub power_ons: u32,
}

impl Default for HostAcc {
    fn default() -> Self {
        Self {
            last: None,
            // CloudSim's loops start from "previously active".
            committed_active: true,
            active_s: 0.0,
            violation_s: 0.0,
            shutdowns: 0,
            power_ons: 0,
        }
    }
}

impl HostAcc {
    fn push(&mut self, e: Entry) {
        if let Some(l) = self.last {
            if l.t == e.t {
                self.last = Some(e);
                return;
            }
            self.commit(l, Some(e.t));
        }
        self.last = Some(e);
    }

    fn commit(&mut self, l: Entry, next_t: Option<f64>) {
        if self.committed_active && !l.flag {
            self.shutdowns += 1;
        }
        if !self.committed_active && l.flag {
            self.power_ons += 1;
        }
        if let Some(nt) = next_t
            && l.flag
        {
            self.active_s += nt - l.t;
            if l.alloc < l.req {
                self.violation_s += nt - l.t;
            }
        }
        self.committed_active = l.flag;
    }

    /// The last entry has no successor: it only counts as a state.
    pub fn finish(&mut self) {
        if let Some(l) = self.last.take() {
            self.commit(l, None);
        }
    }

    /// The host's current state as last written (for the record's series).
    pub fn active(&self) -> bool {
        self.last.map_or(self.committed_active, |l| l.flag)
    }
}

/// A VM's state history folded as it is written (`Helper.getSlaMetrics`).
#[derive(Debug, Clone, Default)]
pub struct VmAcc {
    last: Option<Entry>,
    pub alloc_mips_s: f64,
    pub req_mips_s: f64,
    pub migration_shortfall_mips_s: f64,
}

impl VmAcc {
    fn push(&mut self, e: Entry) {
        if let Some(l) = self.last {
            if l.t == e.t {
                self.last = Some(e);
                return;
            }
            let dt = e.t - l.t;
            self.alloc_mips_s += l.alloc * dt;
            self.req_mips_s += l.req * dt;
            if l.alloc < l.req && l.flag {
                self.migration_shortfall_mips_s += (l.req - l.alloc) * dt;
            }
        }
        self.last = Some(e);
    }
}

/// `VmSchedulerTimeSharedOverSubscription`: MIPS per VM, each vCPU capped at one host
/// core, scaled down together when the host is over-subscribed.
#[derive(Debug, Clone)]
pub struct Sched {
    pe_mips: f64,
    total_mips: f64,
    pub avail: f64,
    requested: Vec<(usize, Req)>,
    /// MIPS allocated per VM, summed over its vCPUs.
    alloc: Vec<(usize, f64)>,
    pub migrating_in: Vec<usize>,
    migrating_out: Vec<usize>,
}

impl Sched {
    pub fn new(pe_mips: f64, total_mips: f64) -> Self {
        Self {
            pe_mips,
            total_mips,
            avail: total_mips,
            requested: Vec::new(),
            alloc: Vec::new(),
            migrating_in: Vec::new(),
            migrating_out: Vec::new(),
        }
    }

    /// `allocatePesForVm(GuestEntity, ...)`: a VM in migration that is not coming in is
    /// going out.
    pub fn allocate(&mut self, vm: usize, in_migration: bool, req: Req) {
        if in_migration {
            if !self.migrating_in.contains(&vm) && !self.migrating_out.contains(&vm) {
                self.migrating_out.push(vm);
            }
        } else {
            self.migrating_out.retain(|&v| v != vm);
        }
        self.allocate_uid(vm, req);
    }

    fn allocate_uid(&mut self, vm: usize, req: Req) {
        let capped = req.per_pe.min(self.pe_mips);
        let mut total: f64 = 0.0;
        for _ in 0..req.pes {
            total += capped;
        }
        put(&mut self.requested, vm, req);
        let incoming = self.migrating_in.contains(&vm);
        let outgoing = self.migrating_out.contains(&vm);
        if incoming {
            total *= MIGRATION_TARGET_FRAC;
        }
        if self.avail >= total {
            let per_pe = if outgoing {
                capped * MIGRATION_SOURCE_FRAC
            } else if incoming {
                capped * MIGRATION_TARGET_FRAC
            } else {
                capped
            };
            put(&mut self.alloc, vm, sum_pes(per_pe, req.pes));
            self.avail -= total;
        } else {
            self.redistribute();
        }
    }

    /// Over-subscribed: every VM gets the same share of what it asks for.
    fn redistribute(&mut self) {
        let mut required = 0.0;
        for (vm, req) in &self.requested {
            let mut r = 0.0;
            for _ in 0..req.pes {
                r += req.per_pe.min(self.pe_mips);
            }
            if self.migrating_in.contains(vm) {
                r *= MIGRATION_TARGET_FRAC;
            }
            required += r;
        }
        let scale = self.total_mips / required;
        self.alloc.clear();
        for (vm, req) in &self.requested {
            let outgoing = self.migrating_out.contains(vm);
            let incoming = self.migrating_in.contains(vm);
            let m = req.per_pe.min(self.pe_mips);
            let m = if outgoing {
                m * scale * MIGRATION_SOURCE_FRAC
            } else if incoming {
                m * MIGRATION_TARGET_FRAC * scale
            } else {
                m * scale
            };
            self.alloc.push((*vm, sum_pes(m.floor(), req.pes)));
        }
        self.avail = 0.0;
    }

    /// `deallocatePesForVm`: the others are allocated again from their requests.
    pub fn deallocate(&mut self, vm: usize) {
        self.requested.retain(|(v, _)| *v != vm);
        self.alloc.clear();
        self.avail = self.total_mips;
        for (v, r) in std::mem::take(&mut self.requested) {
            self.allocate_uid(v, r);
        }
    }

    pub fn deallocate_all(&mut self) {
        self.requested.clear();
        self.alloc.clear();
        self.avail = self.total_mips;
    }

    pub fn total_alloc(&self, vm: usize) -> f64 {
        self.alloc
            .iter()
            .find(|(v, _)| *v == vm)
            .map_or(0.0, |(_, a)| *a)
    }
}

/// What a VM asks of a host's CPU: the same MIPS on each of its vCPUs (CloudSim's
/// per-PE request list, whose entries are always equal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Req {
    pub per_pe: f64,
    pub pes: u32,
}

/// A per-vCPU amount summed over the vCPUs one by one, as CloudSim sums its lists.
fn sum_pes(per_pe: f64, pes: u32) -> f64 {
    let mut t = 0.0;
    for _ in 0..pes {
        t += per_pe;
    }
    t
}

fn put<T>(list: &mut Vec<(usize, T)>, vm: usize, v: T) {
    match list.iter_mut().find(|(k, _)| *k == vm) {
        Some(e) => e.1 = v,
        None => list.push((vm, v)),
    }
}

/// A SPECpower curve (11 points) evaluated as `PowerModelSpecPower.getPower`.
pub fn power_w(curve: &[f64; 11], u: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    // `u % 0.1 == 0` can only hold next to a tenth, and there it holds when u is
    // exactly k times the double 0.1: k * 0.1 - u, computed exactly by one fused
    // multiply-add, is 0 (fmod itself is slow).
    let x = u * 10.0;
    if (x - x.round()).abs() < 1e-6 && x.round().mul_add(0.1, -u) == 0.0 {
        return curve[(u * 10.0) as usize];
    }
    let u1 = (u * 10.0).floor() as usize;
    let u2 = ((u * 10.0).ceil() as usize).min(10);
    let (p1, p2) = (curve[u1], curve[u2]);
    let delta = (p2 - p1) / 10.0;
    p1 + delta * (u - u1 as f64 / 10.0) * 100.0
}

#[derive(Debug, Clone)]
pub struct Host {
    /// Hosts of one kind (same cores, speed, memory, link and power curve) are
    /// interchangeable when empty.
    pub kind: u32,
    pub pes: u32,
    pub pe_mips: f64,
    pub total_mips: f64,
    pub power: [f64; 11],
    pub ram_mib: u64,
    pub bw_kbps: f64,
    /// Memory (MB) and bandwidth (kbit/s) each VM holds, in the order provisioned.
    pub held: Vec<(usize, u64, f64)>,
    /// `getVmList()`, in the order VMs arrived (migrating-in VMs included).
    pub vms: Vec<usize>,
    pub migrating_in: Vec<usize>,
    pub sched: Sched,
    pub util_mips: f64,
    pub prev_util_mips: f64,
    pub acc: HostAcc,
    /// `power_w` at `util()`, kept with `util_mips`: placement asks it of every host
    /// for every VM.
    power_now: f64,
    /// `allocated_mips()` since the host last changed (placement asks it as often).
    alloc_memo: std::cell::Cell<Option<f64>>,
}

impl Host {
    pub fn new(
        kind: u32,
        pes: u32,
        pe_mips: f64,
        ram_mib: u64,
        bw_kbps: f64,
        power: [f64; 11],
    ) -> Self {
        let total = pes as f64 * pe_mips;
        Self {
            kind,
            pes,
            pe_mips,
            total_mips: total,
            power,
            ram_mib,
            held: Vec::new(),
            bw_kbps,
            vms: Vec::new(),
            migrating_in: Vec::new(),
            sched: Sched::new(pe_mips, total),
            util_mips: 0.0,
            prev_util_mips: 0.0,
            acc: HostAcc::default(),
            power_now: power_w(&power, 0.0),
            alloc_memo: std::cell::Cell::new(None),
        }
    }

    /// After anything that changes what the host lists or allocates.
    fn changed(&self) {
        self.alloc_memo.set(None);
    }

    fn set_util_mips(&mut self, util: f64) {
        self.prev_util_mips = self.util_mips;
        self.util_mips = util;
        self.power_now = power_w(&self.power, self.util());
    }

    /// `getUtilizationOfCpu`: values just above 1 read as 1.
    pub fn util(&self) -> f64 {
        clamp_one(self.util_mips / self.total_mips)
    }

    pub fn prev_util(&self) -> f64 {
        clamp_one(self.prev_util_mips / self.total_mips)
    }

    /// Nothing listed, nothing held, idle at the last update: any two pristine hosts
    /// of one kind answer every placement question alike.
    pub fn pristine(&self) -> bool {
        self.vms.is_empty() && self.util_mips == 0.0 && self.held.is_empty()
    }

    pub fn power_now_w(&self) -> f64 {
        self.power_now
    }

    /// Memory and bandwidth free, not counting what `vm` holds (a provisioner
    /// replaces a VM's allocation rather than adding to it).
    fn free_except(&self, vm: usize) -> (u64, f64) {
        let (mut ram, mut bw) = (0, 0.0);
        for &(v, r, b) in &self.held {
            if v != vm {
                ram += r;
                bw += b;
            }
        }
        (self.ram_mib - ram, self.bw_kbps - bw)
    }

    /// `RamProvisionerSimple.allocateRamForVm` (and the same for bandwidth).
    fn provision(&mut self, vm: usize, ram: u64, bw: f64) -> bool {
        self.held.retain(|h| h.0 != vm);
        let (ram_free, bw_free) = self.free_except(vm);
        if ram_free < ram || bw_free < bw {
            return false;
        }
        self.held.push((vm, ram, bw));
        true
    }

    fn unprovision(&mut self, vm: usize) {
        self.held.retain(|h| h.0 != vm);
    }

    /// `getUtilizationOfCpuMips(host)` of the allocation policy: MIPS allocated to the
    /// VMs now listed (this round's tentative placements included), plus the rest of a
    /// migrating-in VM's demand.
    pub fn allocated_mips(&self) -> f64 {
        if let Some(m) = self.alloc_memo.get() {
            return m;
        }
        let mut m = 0.0;
        for &v in &self.vms {
            if self.migrating_in.contains(&v) {
                m += self.sched.total_alloc(v) * 0.9 / 0.1;
            }
            m += self.sched.total_alloc(v);
        }
        self.alloc_memo.set(Some(m));
        m
    }
}

fn clamp_one(u: f64) -> f64 {
    if u > 1.0 && u < 1.01 { 1.0 } else { u }
}

#[derive(Debug, Clone)]
pub struct Vm {
    /// MIPS of one vCPU.
    pub mips: f64,
    pub pes: u32,
    pub ram_mib: u64,
    pub bw_kbps: f64,
    /// Demand as a fraction of the VM's MIPS, one value per scheduling interval, with a
    /// trailing 0 (CloudSim reads one value past the day, which is 0).
    pub data: Vec<f64>,
    /// `vm.getHost()`.
    pub host: Option<usize>,
    /// The allocation policy's table: where the datacenter thinks the VM lives.
    pub table_host: Option<usize>,
    pub in_migration: bool,
    /// Until created on its first host a VM asks for its full size.
    pub instantiating: bool,
    pub finished: bool,
    /// Cloudlet utilization at the last update.
    pub util: f64,
    pub history: VecDeque<f64>,
    pub history_t: f64,
    pub acc: VmAcc,
}

impl Vm {
    pub fn new(mips: f64, pes: u32, ram_mib: u64, bw_kbps: f64, data: Vec<f64>) -> Self {
        Self {
            mips,
            pes,
            ram_mib,
            bw_kbps,
            data,
            host: None,
            table_host: None,
            in_migration: false,
            instantiating: true,
            finished: false,
            util: 0.0,
            history: VecDeque::with_capacity(HISTORY_LEN + 1),
            history_t: 0.0,
            acc: VmAcc::default(),
        }
    }

    pub fn total_mips(&self) -> f64 {
        self.pes as f64 * self.mips
    }

    /// `UtilizationModelPlanetLabInMemory.getUtilization`: linear between samples.
    pub fn util_at(&self, t: f64, interval_s: f64) -> f64 {
        let last = self.data.len().saturating_sub(1);
        // `t % interval == 0` only where t / interval is whole, and there exactly when
        // k * interval - t is 0, which one fused multiply-add computes exactly.
        let k = t / interval_s;
        if k.fract() == 0.0 && k.mul_add(interval_s, -t) == 0.0 {
            return self.data[((t / interval_s) as usize).min(last)];
        }
        let t1 = (t / interval_s).floor();
        let t2 = (t / interval_s).ceil();
        let u1 = self.data[(t1 as usize).min(last)];
        let u2 = self.data[(t2 as usize).min(last)];
        let delta = (u2 - u1) / ((t2 - t1) * interval_s);
        u1 + delta * (t - t1 * interval_s)
    }

    /// `getCurrentRequestedMips`: per vCPU.
    pub fn req_per_pe(&self) -> Req {
        let per_pe = if self.instantiating {
            self.mips
        } else {
            self.util * self.total_mips() / self.pes as f64
        };
        Req {
            per_pe,
            pes: self.pes,
        }
    }

    pub fn req_total(&self) -> f64 {
        let r = self.req_per_pe();
        sum_pes(r.per_pe, r.pes)
    }

    pub fn req_max(&self) -> f64 {
        self.req_per_pe().per_pe
    }

    /// RAM and bandwidth asked of a host: the full size while being created, then what
    /// the cloudlet uses, which CloudSim's PlanetLab experiment leaves at 0
    /// (`UtilizationModelNull`): memory is checked at the first placement only.
    fn req_ram_bw(&self) -> (u64, f64) {
        if self.instantiating {
            (self.ram_mib, self.bw_kbps)
        } else {
            (0, 0.0)
        }
    }
}

/// Every host and VM, with the host operations CloudSim's policies and datacenter use.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub hosts: Vec<Host>,
    pub vms: Vec<Vm>,
    pub interval_s: f64,
}

impl Cluster {
    /// `isSuitableForVm`: a vCPU fits on one core, the MIPS are free, and memory and
    /// bandwidth as asked.
    pub fn suitable(&self, h: usize, v: usize) -> bool {
        let host = &self.hosts[h];
        let vm = &self.vms[v];
        let r = vm.req_per_pe();
        if host.pe_mips < r.per_pe || host.sched.avail < sum_pes(r.per_pe, r.pes) {
            return false;
        }
        let (ram, bw) = vm.req_ram_bw();
        if ram == 0 && bw == 0.0 {
            // Nothing asked (every placement after the first): always free.
            return true;
        }
        let (ram_free, bw_free) = host.free_except(v);
        ram_free >= ram && bw_free >= bw
    }

    /// `Host.vmCreate`.
    pub fn vm_create(&mut self, h: usize, v: usize) -> bool {
        self.hosts[h].changed();
        let (ram, bw) = self.vms[v].req_ram_bw();
        if !self.hosts[h].provision(v, ram, bw) {
            return false;
        }
        let (inm, req) = (self.vms[v].in_migration, self.vms[v].req_per_pe());
        self.hosts[h].sched.allocate(v, inm, req);
        self.hosts[h].vms.push(v);
        self.vms[v].host = Some(h);
        true
    }

    /// `Host.vmDestroy`.
    pub fn vm_destroy(&mut self, h: usize, v: usize) {
        let host = &mut self.hosts[h];
        host.changed();
        if !host.vms.contains(&v) {
            return;
        }
        host.unprovision(v);
        host.sched.deallocate(v);
        host.vms.retain(|&x| x != v);
        self.vms[v].host = None;
    }

    /// `Host.vmDestroyAll` then `reallocateMigratingInVms`.
    pub fn reset_host(&mut self, h: usize) {
        self.hosts[h].changed();
        let listed = std::mem::take(&mut self.hosts[h].vms);
        for &v in &listed {
            self.vms[v].host = None;
        }
        let host = &mut self.hosts[h];
        host.held.clear();
        host.sched.deallocate_all();
        for v in host.migrating_in.clone() {
            let (ram, bw) = self.vms[v].req_ram_bw();
            let host = &mut self.hosts[h];
            host.provision(v, ram, bw);
            host.vms.push(v);
            let req = self.vms[v].req_per_pe();
            host.sched.allocate(v, true, req);
        }
    }

    /// `PowerHost.addMigratingInVm`: the VM is listed on the target at 10 % of its MIPS
    /// and both hosts' states are rewritten for this instant.
    pub fn add_migrating_in(&mut self, h: usize, v: usize, t: f64) {
        self.hosts[h].changed();
        self.vms[v].in_migration = true;
        if self.hosts[h].migrating_in.contains(&v) {
            return;
        }
        let (ram, bw) = self.vms[v].req_ram_bw();
        let req = self.vms[v].req_per_pe();
        let host = &mut self.hosts[h];
        host.provision(v, ram, bw);
        host.sched.migrating_in.push(v);
        host.sched.allocate(v, true, req);
        host.migrating_in.push(v);
        host.vms.push(v);
        self.update_host(h, t, false);
        if let Some(src) = self.vms[v].host {
            self.update_host(src, t, false);
        }
    }

    /// `PowerHost.removeMigratingInVm`.
    pub fn remove_migrating_in(&mut self, h: usize, v: usize) {
        let host = &mut self.hosts[h];
        host.changed();
        host.unprovision(v);
        host.sched.deallocate(v);
        host.migrating_in.retain(|&x| x != v);
        host.vms.retain(|&x| x != v);
        host.sched.migrating_in.retain(|&x| x != v);
        self.vms[v].in_migration = false;
    }

    /// `HostDynamicWorkload.updateVmsProcessing`: the VMs' demand at `t`, the MIPS they
    /// get, and the host's and VMs' state entries. `tick`: a scheduling-interval
    /// boundary, where VMs add to their CPU history.
    pub fn update_host(&mut self, h: usize, t: f64, tick: bool) {
        let interval = self.interval_s;
        if self.hosts[h].vms.is_empty() {
            // Nothing listed: what the loops below would compute for no VM.
            let host = &mut self.hosts[h];
            host.changed();
            host.sched.deallocate_all();
            host.set_util_mips(0.0);
            host.acc.push(Entry {
                t,
                alloc: 0.0,
                req: 0.0,
                flag: false,
            });
            return;
        }
        for &v in &self.hosts[h].vms {
            let vm = &mut self.vms[v];
            vm.util = vm.util_at(t, interval);
            if tick && t > vm.history_t {
                if t != 0.0 || vm.util != 0.0 {
                    vm.history.push_front(vm.util);
                    vm.history.truncate(HISTORY_LEN);
                }
                vm.history_t = t;
            }
        }
        let host = &mut self.hosts[h];
        host.changed();
        host.sched.deallocate_all();
        for &v in &host.vms {
            let vm = &self.vms[v];
            host.sched.allocate(v, vm.in_migration, vm.req_per_pe());
        }
        let mut util = 0.0;
        let mut req_sum = 0.0;
        for &v in &host.vms {
            let vm = &mut self.vms[v];
            let req = vm.req_total();
            let mut alloc = host.sched.total_alloc(v);
            if !host.migrating_in.contains(&v) {
                vm.acc.push(Entry {
                    t,
                    alloc,
                    req,
                    flag: vm.in_migration,
                });
                if vm.in_migration {
                    alloc /= 0.9;
                }
            }
            util += alloc;
            req_sum += req;
        }
        host.set_util_mips(util);
        host.acc.push(Entry {
            t,
            alloc: util,
            req: req_sum,
            flag: util > 0.0,
        });
    }

    /// A host's CPU history: the sum of its VMs' histories, each scaled to the host
    /// (`PowerHostUtilizationHistory.getUtilizationHistory`), trailing zeros cut.
    pub fn host_history(&self, h: usize) -> Vec<f64> {
        let host = &self.hosts[h];
        let mut out = [0.0; HISTORY_LEN];
        for &v in &host.vms {
            let vm = &self.vms[v];
            for (i, &u) in vm.history.iter().enumerate() {
                out[i] += u * vm.total_mips() / host.total_mips;
            }
        }
        crate::baselines::cloudsim_stats::trim_zero_tail(&out).to_vec()
    }

    /// Requested MIPS of the listed VMs over the host's MIPS.
    pub fn requested_util(&self, h: usize) -> f64 {
        let host = &self.hosts[h];
        let mut req = 0.0;
        for &v in &host.vms {
            req += self.vms[v].req_total();
        }
        req / host.total_mips
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G4: [f64; 11] = [
        86.0, 89.4, 92.6, 96.0, 99.5, 102.0, 106.0, 108.0, 112.0, 114.0, 117.0,
    ];

    #[test]
    fn power_curve_interpolates_between_points() {
        assert_eq!(power_w(&G4, 0.0), 86.0);
        assert_eq!(power_w(&G4, 1.0), 117.0);
        // 25 %: between 89.4... no, between 92.6 (20 %) and 96 (30 %), halfway.
        assert!((power_w(&G4, 0.25) - 94.3).abs() < 1e-9);
    }

    #[test]
    fn the_fused_multiple_test_is_cloudsims_remainder_test() {
        // Near every tenth and every whole interval, and at the tenths themselves, the
        // fused test answers as `%` does (true at 0, 0.1, 0.2, 0.4, 0.8 ..., not 0.3).
        let mut seen_true = 0;
        for k in 0..=10 {
            for ulp in -3i64..=3 {
                let base = k as f64 / 10.0;
                let u = f64::from_bits((base.to_bits() as i64 + ulp).max(0) as u64);
                let x = u * 10.0;
                let fused = (x - x.round()).abs() < 1e-6 && x.round().mul_add(0.1, -u) == 0.0;
                let near = (x - x.round()).abs() < 1e-6 && u % 0.1 == 0.0;
                assert_eq!(fused, near, "{u:e}");
                seen_true += usize::from(fused);
            }
        }
        assert!(seen_true >= 5, "{seen_true}");
        for interval in [300.0, 60.0, 7.5] {
            for n in 0..400 {
                for t in [n as f64 * interval, n as f64 * interval + 0.1] {
                    let k = t / interval;
                    let fused = k.fract() == 0.0 && k.mul_add(interval, -t) == 0.0;
                    assert_eq!(fused, k.fract() == 0.0 && t % interval == 0.0, "{t}");
                }
            }
        }
    }

    #[test]
    fn scheduler_caps_a_vcpu_at_one_core_and_shares_when_oversubscribed() {
        // Two cores of 1000 MIPS.
        let one = |m: f64| Req { per_pe: m, pes: 1 };
        let mut s = Sched::new(1000.0, 2000.0);
        s.allocate(0, false, one(1500.0));
        assert_eq!(s.total_alloc(0), 1000.0);
        assert_eq!(s.avail, 1000.0);
        // Capped, the second fits exactly.
        s.allocate(1, false, one(1500.0));
        assert_eq!(s.total_alloc(1), 1000.0);
        assert_eq!(s.avail, 0.0);
        // 600 more with nothing free: everyone gets 2000 / 2600 of the capped request,
        // rounded down to whole MIPS.
        s.allocate(2, false, one(600.0));
        assert_eq!(s.total_alloc(0), 769.0);
        assert_eq!(s.total_alloc(1), 769.0);
        assert_eq!(s.total_alloc(2), 461.0);
        assert_eq!(s.avail, 0.0);
    }

    #[test]
    fn migration_shares_are_90_and_10_percent() {
        let one = Req {
            per_pe: 1000.0,
            pes: 1,
        };
        let mut src = Sched::new(2000.0, 4000.0);
        src.allocate(0, true, one);
        assert_eq!(src.total_alloc(0), 900.0);
        assert_eq!(src.avail, 3000.0);
        let mut dst = Sched::new(2000.0, 4000.0);
        dst.migrating_in.push(0);
        dst.allocate(0, true, one);
        assert_eq!(dst.total_alloc(0), 100.0);
        assert_eq!(dst.avail, 3900.0);
    }

    #[test]
    fn host_history_counts_the_same_time_once_and_integrates_to_the_next() {
        let mut a = HostAcc::default();
        a.push(Entry {
            t: 0.0,
            alloc: 1.0,
            req: 2.0,
            flag: true,
        });
        // Rewritten at the same time: the first entry never counts.
        a.push(Entry {
            t: 0.0,
            alloc: 2.0,
            req: 2.0,
            flag: true,
        });
        a.push(Entry {
            t: 10.0,
            alloc: 1.0,
            req: 2.0,
            flag: true,
        });
        a.push(Entry {
            t: 15.0,
            alloc: 0.0,
            req: 0.0,
            flag: false,
        });
        a.push(Entry {
            t: 30.0,
            alloc: 0.0,
            req: 0.0,
            flag: false,
        });
        a.finish();
        assert_eq!(a.active_s, 15.0);
        assert_eq!(a.violation_s, 5.0);
        assert_eq!(a.shutdowns, 1);
        assert_eq!(a.power_ons, 0);
    }

    #[test]
    fn demand_is_linear_between_samples() {
        let vm = Vm::new(1000.0, 1, 512, 0.0, vec![0.2, 0.4, 0.0]);
        assert_eq!(vm.util_at(300.0, 300.0), 0.4);
        assert!((vm.util_at(450.0, 300.0) - 0.2).abs() < 1e-12);
        assert!((vm.util_at(75.0, 300.0) - 0.25).abs() < 1e-12);
    }
}
