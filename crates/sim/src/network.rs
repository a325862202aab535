//! Bandwidth sharing between concurrent migrations: max-min fairness by progressive
//! filling.
//!
//! Each migration is a flow over the source NIC's transmit side, the target NIC's
//! receive side (NICs are full duplex) and, across racks, the inter-rack link. All
//! flows grow at the same pace until a resource saturates; the flows through it are
//! frozen at that rate and the rest keep growing. The result is the unique max-min
//! fair allocation (Bertsekas & Gallager), so two migrations out of one NIC each get
//! half of it, and a flow held back elsewhere leaves its unused share to the others.
//! A flow's own rate cap (QEMU's `max-bandwidth`) is a resource only it uses.

/// One transfer. Bandwidths in Mbps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flow {
    pub id: usize,
    pub src_nic: usize,
    pub dst_nic: usize,
    /// (link key, capacity) when the flow crosses racks over a limited link.
    pub link: Option<(usize, f64)>,
    /// The migration's own bandwidth cap, if any.
    pub cap_mbps: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Res {
    Tx(usize),
    Rx(usize),
    Link(usize),
    /// A flow's own cap, by its position in the slice.
    Cap(usize),
}

/// Max-min fair rate of each flow, in the order given. `nic_caps[i]` is node i's NIC
/// bandwidth in each direction.
pub fn fair_rates(flows: &[Flow], nic_caps: &[f64]) -> Vec<f64> {
    let mut res: Vec<(Res, f64)> = Vec::new();
    let mut uses: Vec<Vec<usize>> = Vec::with_capacity(flows.len());
    let index_of = |r: Res, cap: f64, res: &mut Vec<(Res, f64)>| -> usize {
        match res.iter().position(|(k, _)| *k == r) {
            Some(i) => i,
            None => {
                res.push((r, cap.max(0.0)));
                res.len() - 1
            }
        }
    };
    for (i, f) in flows.iter().enumerate() {
        let mut u = vec![
            index_of(Res::Tx(f.src_nic), nic_caps[f.src_nic], &mut res),
            index_of(Res::Rx(f.dst_nic), nic_caps[f.dst_nic], &mut res),
        ];
        if let Some((k, cap)) = f.link {
            u.push(index_of(Res::Link(k), cap, &mut res));
        }
        if let Some(cap) = f.cap_mbps {
            u.push(index_of(Res::Cap(i), cap, &mut res));
        }
        uses.push(u);
    }
    let mut rate = vec![0.0; flows.len()];
    let mut frozen = vec![false; flows.len()];
    let mut left: Vec<f64> = res.iter().map(|(_, c)| *c).collect();
    loop {
        // Fair share each resource could still give its unfrozen flows.
        let mut best: Option<(f64, usize)> = None;
        for (r, &cap) in left.iter().enumerate() {
            let n = (0..flows.len())
                .filter(|&f| !frozen[f] && uses[f].contains(&r))
                .count();
            if n > 0 {
                let share = (cap / n as f64).max(0.0);
                if best.is_none_or(|(s, _)| share < s) {
                    best = Some((share, r));
                }
            }
        }
        let Some((share, r)) = best else { break };
        for f in 0..flows.len() {
            if !frozen[f] && uses[f].contains(&r) {
                frozen[f] = true;
                rate[f] = share;
                for &q in &uses[f] {
                    left[q] -= share;
                }
            }
        }
    }
    rate
}

/// [`fair_rates`] one connected group of flows at a time: flows that share no NIC,
/// link or cap cannot take from each other, so the max-min allocation splits exactly
/// along the groups, and a thousand flows in small groups cost what the groups cost.
pub fn shared_rates(flows: &[Flow], nic_caps: &[f64]) -> Vec<f64> {
    if flows.len() <= 2 {
        return fair_rates(flows, nic_caps);
    }
    // Union-find over what the flows use: NICs by index, links after them.
    let links: Vec<usize> = {
        let mut k: Vec<usize> = flows.iter().filter_map(|f| f.link.map(|l| l.0)).collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    let n = nic_caps.len();
    let mut parent: Vec<usize> = (0..n + links.len()).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    fn join(a: usize, b: usize, p: &mut [usize]) {
        let (ra, rb) = (root(p, a), root(p, b));
        if ra != rb {
            p[ra.max(rb)] = ra.min(rb);
        }
    }
    for f in flows {
        join(f.src_nic, f.dst_nic, &mut parent);
        if let Some((k, _)) = f.link {
            let li = n + links.binary_search(&k).unwrap_or(0);
            join(f.src_nic, li, &mut parent);
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, f) in flows.iter().enumerate() {
        groups
            .entry(root(&mut parent, f.src_nic))
            .or_default()
            .push(i);
    }
    let mut rate = vec![0.0; flows.len()];
    for members in groups.values() {
        let part: Vec<Flow> = members.iter().map(|&i| flows[i]).collect();
        for (&i, r) in members.iter().zip(fair_rates(&part, nic_caps)) {
            rate[i] = r;
        }
    }
    rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_give_what_the_whole_gives() {
        // A deterministic tangle of flows over 12 NICs and 2 links, some capped.
        let mut rng = crate::rng::Pcg32::new(7, 3);
        let caps: Vec<f64> = (0..12).map(|i| 400.0 + 100.0 * (i % 5) as f64).collect();
        for round in 0..50 {
            let n = 1 + round % 14;
            let flows: Vec<Flow> = (0..n)
                .map(|id| {
                    let s = rng.below(12) as usize;
                    let d = (s + 1 + rng.below(11) as usize) % 12;
                    Flow {
                        id,
                        src_nic: s,
                        dst_nic: d,
                        link: (rng.below(4) == 0).then(|| (rng.below(2) as usize, 300.0)),
                        cap_mbps: (rng.below(3) == 0).then_some(150.0),
                    }
                })
                .collect();
            let whole = fair_rates(&flows, &caps);
            let split = shared_rates(&flows, &caps);
            for (a, b) in whole.iter().zip(&split) {
                assert!((a - b).abs() < 1e-9, "{flows:?}: {whole:?} vs {split:?}");
            }
        }
    }

    fn flow(id: usize, s: usize, d: usize) -> Flow {
        Flow {
            id,
            src_nic: s,
            dst_nic: d,
            link: None,
            cap_mbps: None,
        }
    }

    #[test]
    fn a_capped_flow_leaves_the_rest_to_the_others() {
        let mut capped = flow(0, 0, 1);
        capped.cap_mbps = Some(150.0);
        let r = fair_rates(&[capped, flow(1, 0, 2)], &[1000.0, 1000.0, 1000.0]);
        assert_eq!(r, [150.0, 850.0]);
        // Above its fair share a cap changes nothing.
        capped.cap_mbps = Some(800.0);
        let r = fair_rates(&[capped, flow(1, 0, 2)], &[1000.0, 1000.0, 1000.0]);
        assert_eq!(r, [500.0, 500.0]);
    }

    #[test]
    fn one_flow_gets_the_slower_nic() {
        assert_eq!(fair_rates(&[flow(0, 0, 1)], &[1000.0, 400.0]), [400.0]);
    }

    #[test]
    fn two_flows_out_of_one_nic_share_it() {
        let r = fair_rates(&[flow(0, 0, 1), flow(1, 0, 2)], &[1000.0, 1000.0, 1000.0]);
        assert_eq!(r, [500.0, 500.0]);
    }

    #[test]
    fn unused_share_goes_to_the_others() {
        // Flow 1 is held to 200 by its target; flow 0 gets the rest of the source NIC.
        let r = fair_rates(&[flow(0, 0, 1), flow(1, 0, 2)], &[1000.0, 1000.0, 200.0]);
        assert_eq!(r, [800.0, 200.0]);
    }

    #[test]
    fn nics_are_full_duplex() {
        // 0 -> 1 and 1 -> 0 do not compete.
        let r = fair_rates(&[flow(0, 0, 1), flow(1, 1, 0)], &[1000.0, 1000.0]);
        assert_eq!(r, [1000.0, 1000.0]);
    }

    #[test]
    fn a_shared_link_limits_crossing_flows() {
        let mut a = flow(0, 0, 2);
        let mut b = flow(1, 1, 3);
        a.link = Some((7, 600.0));
        b.link = Some((7, 600.0));
        let r = fair_rates(&[a, b], &[1000.0; 4]);
        assert_eq!(r, [300.0, 300.0]);
        // A partitioned link carries nothing.
        a.link = Some((7, 0.0));
        assert_eq!(fair_rates(&[a], &[1000.0; 4]), [0.0]);
    }
}
