//! Cluster state: nodes, VMs, service groups, racks and links, and the bookkeeping that
//! keeps them consistent (placement lists, memory held and CPU reserved by migrations).

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VmStatus {
    Running,
    /// Its node is down; it comes back with the node (or restarts elsewhere).
    Down,
    Lost,
    /// Removed by scale in.
    Removed,
    /// Not yet arrived (`arrive_s`, or a trace that starts later): on no node.
    Pending,
    /// Left the run (`depart_s`, or its trace ended), or found no node when it
    /// arrived (`refused`).
    Departed {
        refused: bool,
    },
}

/// The MIPS of one reference core: with per-core speeds (`core_mips`, VM `mips`),
/// capacities and demands are counted in cores of this speed, so a scenario without
/// speeds (every core 1) and one with them read alike.
pub(super) const REF_MIPS: f64 = 1000.0;

/// A node's power (see [`crate::scenario::PowerConfig`]); a crash is not a power
/// state: a crashed node is on and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PowerState {
    On,
    /// Powered on, serving from `NodeRt::ready_ms`.
    Booting,
    Off,
}

#[derive(Debug)]
pub(super) struct NodeRt {
    pub(super) id: String,
    pub(super) rack: usize,
    /// CPU capacity in reference cores: its cores times `core_speed`.
    pub(super) cores: f64,
    /// How many cores it has (vCPU overcommit counts these).
    pub(super) core_count: f64,
    /// Speed of one core in reference cores (`core_mips` / [`REF_MIPS`]); 1 when the
    /// scenario gives no speeds.
    pub(super) core_speed: f64,
    pub(super) memory_mib: u64,
    pub(super) nic_mbps: f64,
    pub(super) power: Option<[f64; 11]>,
    /// Serving: on and not crashed.
    pub(super) up: bool,
    pub(super) pstate: PowerState,
    /// Down by a crash, until it recovers.
    pub(super) crashed: bool,
    /// When a booting node serves.
    pub(super) ready_ms: TimeMs,
    pub(super) boot_ms: TimeMs,
    pub(super) boot_energy_j: f64,
    /// Since when the control rounds have found it empty (power management).
    pub(super) empty_since_ms: Option<TimeMs>,
    pub(super) nic_factor: f64,
    pub(super) background_cores: f64,
    /// Until when this node's active time, overload and energy have been charged.
    pub(super) acct_ms: TimeMs,
    /// Memory of the VMs placed here (down ones included).
    pub(super) used_mem_mib: u64,
    /// Memory held for incoming migrations, and by outgoing ones until cleanup.
    pub(super) held_mem_mib: u64,
    /// CPU reserved for incoming migrations (the VM's demand), until switchover.
    pub(super) reserved_cores: f64,
    pub(super) load_cores: f64,
    pub(super) hist: Ring,
    pub(super) forecaster: Forecaster,
    pub(super) stats: UtilStats,
    pub(super) summary: Option<ForecastSummary>,
    pub(super) migrations: u32,
    pub(super) mtbf_s: Option<f64>,
    pub(super) mttr_s: f64,
    pub(super) dist: FailureDistribution,
    pub(super) weibull_shape: f64,
    pub(super) vcpus_placed: u64,
}

impl NodeRt {
    pub(super) fn util(&self) -> f64 {
        if self.up {
            self.load_cores / self.cores
        } else {
            0.0
        }
    }

    /// The share of its VMs' CPU demand the node serves: all of it up to its capacity,
    /// a proportional share beyond (every VM gets cores / load of what it asks).
    pub(super) fn served_frac(&self) -> f64 {
        let u = self.util();
        if u > 1.0 { 1.0 / u } else { 1.0 }
    }

    /// Off or booting, and so not serving, but not broken: a placement may use it.
    pub(super) fn asleep(&self) -> bool {
        self.pstate != PowerState::On
    }

    /// Serving or asleep: anything but crashed (a crash happens only to a node that is
    /// on, so `up || asleep()` is exactly this).
    pub(super) fn usable(&self) -> bool {
        !self.crashed
    }

    pub(super) fn free_mem_mib(&self) -> u64 {
        self.memory_mib
            .saturating_sub(self.used_mem_mib + self.held_mem_mib)
    }
}

#[derive(Debug)]
pub(super) struct VmRt {
    pub(super) id: String,
    pub(super) base_vcpus: u32,
    pub(super) vcpus: u32,
    /// Reference cores one vCPU asks for (`mips` / [`REF_MIPS`]; 1 without speeds).
    pub(super) vcpu_size: f64,
    /// What one vCPU can use where it runs: its size, or one host core when the host's
    /// cores are slower (a vCPU runs on one core at a time).
    pub(super) vcpu_cap: f64,
    pub(super) memory_mib: u64,
    /// Declared fraction of memory touched (see `VmGroup::resident_memory_frac`).
    pub(super) resident_frac: f64,
    pub(super) dirty_rate: f64,
    pub(super) dirty_factor: f64,
    pub(super) dirty_follows_cpu: bool,
    pub(super) group: Option<usize>,
    pub(super) anti_affinity: Option<String>,
    pub(super) node: Option<usize>,
    pub(super) status: VmStatus,
    pub(super) paused: bool,
    pub(super) hung_until_ms: TimeMs,
    pub(super) workload: Option<Workload>,
    /// Own workload's demand, as a fraction of `base_vcpus`.
    pub(super) own_level: f64,
    /// Demand this VM carries now, in cores (its own, or its share of the group's).
    pub(super) demand_cores: f64,
    pub(super) hist: Ring,
    pub(super) forecaster: Forecaster,
    /// Window stats and forecast summary as of the last control tick, computed in the
    /// sampling pass so the control round reads nothing but this struct.
    pub(super) stats: UtilStats,
    pub(super) summary: Option<ForecastSummary>,
    /// When the VM was last scaled (resized, or added as a replica): the policy's
    /// cooldowns count from it.
    pub(super) last_scaled_ms: Option<TimeMs>,
    /// The last resize's direction and the VM's mean demand (cores) when it was
    /// decided: a resize the other way needs the demand to have moved (hysteresis).
    pub(super) last_resize: Option<(ScalingAction, f64)>,
    /// The node the VM last left by migration, and when it switched over.
    pub(super) left: Option<(usize, TimeMs)>,
    pub(super) migration: Option<MigId>,
    /// Due to leave, waiting for its migration to end.
    pub(super) depart_pending: bool,
    /// When it went down (valid while `status == Down`): downtime is counted exactly,
    /// not per tick.
    pub(super) down_since_ms: TimeMs,
}

/// What a new VM is made of; everything else starts the same for every VM.
#[derive(Debug, Clone)]
pub(super) struct VmShape {
    pub(super) id: String,
    pub(super) vcpus: u32,
    pub(super) vcpu_size: f64,
    pub(super) memory_mib: u64,
    pub(super) resident_frac: f64,
    pub(super) dirty_rate: f64,
    pub(super) dirty_follows_cpu: bool,
    pub(super) group: Option<usize>,
    pub(super) anti_affinity: Option<String>,
}

impl VmRt {
    /// A running VM with no history (a window of `window` samples), not yet placed and
    /// without a workload.
    pub(super) fn new(s: VmShape, policy: &PolicyConfig, window: usize) -> Self {
        Self {
            id: s.id,
            base_vcpus: s.vcpus,
            vcpus: s.vcpus,
            vcpu_size: s.vcpu_size,
            vcpu_cap: s.vcpu_size,
            memory_mib: s.memory_mib,
            resident_frac: s.resident_frac,
            dirty_rate: s.dirty_rate,
            dirty_factor: 1.0,
            dirty_follows_cpu: s.dirty_follows_cpu,
            group: s.group,
            anti_affinity: s.anti_affinity,
            node: None,
            status: VmStatus::Running,
            paused: false,
            hung_until_ms: 0,
            workload: None,
            own_level: 0.0,
            demand_cores: 0.0,
            hist: Ring::new(window),
            forecaster: Forecaster::new(&policy.forecast),
            stats: UtilStats::default(),
            summary: None,
            last_scaled_ms: None,
            last_resize: None,
            left: None,
            migration: None,
            depart_pending: false,
            down_since_ms: 0,
        }
    }

    /// The shape as declared (its vCPUs before any resize), for replicas.
    pub(super) fn shape(&self) -> VmShape {
        VmShape {
            id: self.id.clone(),
            vcpus: self.base_vcpus,
            vcpu_size: self.vcpu_size,
            memory_mib: self.memory_mib,
            resident_frac: self.resident_frac,
            dirty_rate: self.dirty_rate,
            dirty_follows_cpu: self.dirty_follows_cpu,
            group: self.group,
            anti_affinity: self.anti_affinity.clone(),
        }
    }

    /// Running, not migrating and not paused: free to be moved or resized.
    pub(super) fn movable(&self) -> bool {
        self.status == VmStatus::Running && self.migration.is_none() && !self.paused
    }

    pub(super) fn alive(&self) -> bool {
        matches!(self.status, VmStatus::Running | VmStatus::Down)
    }

    /// How fast the VM dirties memory now: its rate (times an injected spike), in
    /// proportion to its CPU activity when it follows it.
    pub(super) fn dirty_rate_mib_s(&self) -> f64 {
        let rate = self.dirty_rate * self.dirty_factor;
        if self.dirty_follows_cpu {
            rate * (self.demand_cores / self.alloc_cores()).clamp(0.0, 1.0)
        } else {
            rate
        }
    }

    pub(super) fn used_cores(&self) -> f64 {
        if self.status == VmStatus::Running && !self.paused {
            self.capped_demand()
        } else {
            0.0
        }
    }

    /// The demand of its own workload's last sample, in reference cores (a replica's
    /// is its share of its group's instead).
    pub(super) fn own_demand_cores(&self) -> f64 {
        self.own_level * self.base_vcpus as f64 * self.vcpu_size
    }

    /// Its allocation in reference cores: what its utilization is a fraction of.
    pub(super) fn alloc_cores(&self) -> f64 {
        self.vcpus as f64 * self.vcpu_size
    }

    /// Its demand as far as its vCPUs can carry it on the node it is on.
    pub(super) fn capped_demand(&self) -> f64 {
        self.demand_cores.min(self.vcpus as f64 * self.vcpu_cap)
    }

    /// Its demand as far as its vCPUs could carry it on cores of `core_speed`: what it
    /// would bring to another node.
    pub(super) fn capped_demand_on(&self, core_speed: f64) -> f64 {
        self.demand_cores
            .min(self.vcpus as f64 * self.vcpu_size.min(core_speed))
    }
}

#[derive(Debug)]
pub(super) struct GroupRt {
    pub(super) name: String,
    /// Original members: their workloads make up the group's load.
    pub(super) originals: Vec<usize>,
    /// Replicas serving now (originals not scaled in, plus added ones).
    pub(super) active: Vec<usize>,
    /// When the group last scaled out or in.
    pub(super) last_scaled_ms: Option<TimeMs>,
}

pub(super) fn pair_index(n: usize, a: usize, b: usize) -> usize {
    let (a, b) = if a < b { (a, b) } else { (b, a) };
    a * n + b
}

impl Simulation {
    /// Where a new replica or a restarted VM goes: the least-utilized live node with
    /// `mem_mib` free, the smallest index on ties.
    pub(super) fn least_loaded_with_room(&self, mem_mib: u64) -> Option<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].up && self.nodes[n].free_mem_mib() >= mem_mib)
            .min_by(|&a, &b| self.nodes[a].util().total_cmp(&self.nodes[b].util()))
    }

    /// Would `vm` on node `t` share it with another VM of its anti-affinity group: one
    /// placed there, one migrating there, or one `planned` there ((node, VM) pairs)?
    pub(super) fn breaks_anti_affinity(
        &self,
        vm: usize,
        t: usize,
        planned: &[(usize, usize)],
    ) -> bool {
        let Some(g) = &self.vms[vm].anti_affinity else {
            return false;
        };
        let same = |o: usize| o != vm && self.vms[o].anti_affinity.as_ref() == Some(g);
        self.node_vms[t].iter().any(|&o| same(o as usize))
            || self
                .active
                .iter()
                .any(|&m| self.migs[m].dst == t && same(self.migs[m].vm))
            || planned.iter().any(|&(n, o)| n == t && same(o))
    }

    /// Take a VM off its node: the memory and vCPUs it held there are free again (its
    /// load is the caller's: a running VM's stays until it is charged or resampled).
    pub(super) fn unplace(&mut self, vm: usize, now: TimeMs) {
        if let Some(n) = self.vms[vm].node {
            self.nodes[n].used_mem_mib -= self.vms[vm].memory_mib;
            self.nodes[n].vcpus_placed -= u64::from(self.vms[vm].vcpus);
        }
        self.move_vm(vm, None, now);
    }

    /// Change a VM's placement, keeping the per-node lists in step and recording the
    /// change for replay.
    pub(super) fn move_vm(&mut self, vm: usize, to: Option<usize>, now: TimeMs) {
        if let Some(from) = self.vms[vm].node {
            let list = &mut self.node_vms[from];
            if let Some(p) = list.iter().position(|&x| x as usize == vm) {
                list.remove(p);
            }
        }
        if let Some(t) = to {
            self.node_vms[t].push(vm as u32);
            let v = &mut self.vms[vm];
            v.vcpu_cap = v.vcpu_size.min(self.nodes[t].core_speed);
        }
        self.vms[vm].node = to;
        self.placements.push(PlacementChange {
            t_ms: now,
            vm: vm as u32,
            node: to.map(|n| n as u32),
        });
    }

    pub(super) fn path_capacity_mbps(&self, src: usize, dst: usize) -> f64 {
        if self.nodes[src].up && self.nodes[dst].up {
            self.nominal_path_mbps(src, dst)
        } else {
            0.0
        }
    }

    /// The path between two nodes as it will be once both serve (a node that is off
    /// or booting has its NIC then); 0 when one of them is crashed.
    pub(super) fn nominal_path_mbps(&self, src: usize, dst: usize) -> f64 {
        let (a, b) = (&self.nodes[src], &self.nodes[dst]);
        if !a.usable() || !b.usable() {
            return 0.0;
        }
        let bw = (a.nic_mbps * a.nic_factor).min(b.nic_mbps * b.nic_factor);
        match (a.rack != b.rack)
            .then(|| self.link_capacity_mbps(a.rack, b.rack))
            .flatten()
        {
            Some(link) => bw.min(link),
            None => bw,
        }
    }

    /// A migration flow between two nodes, over the inter-rack link when they are in
    /// different racks, capped by the policy's migration bandwidth.
    pub(super) fn flow_between(&self, id: usize, src: usize, dst: usize) -> Flow {
        let (ra, rb) = (self.nodes[src].rack, self.nodes[dst].rack);
        Flow {
            id,
            src_nic: src,
            dst_nic: dst,
            link: (ra != rb)
                .then(|| self.link_capacity_mbps(ra, rb))
                .flatten()
                .map(|cap| (pair_index(self.racks.len(), ra, rb), cap)),
            cap_mbps: self.policy.migration.max_bandwidth_mbps,
        }
    }

    /// Capacity of the link between two racks now: `None` = unlimited.
    pub(super) fn link_capacity_mbps(&self, ra: usize, rb: usize) -> Option<f64> {
        let k = pair_index(self.racks.len(), ra, rb);
        let f = self.link_factor[k];
        match self.link_mbps[k] {
            Some(l) => Some(l * f),
            None if f == 0.0 => Some(0.0),
            None => None,
        }
    }
}
