// SimGrid 3.32's live-migration model on one case, for validation/simgrid/compare.py:
// the time of each sg_vm_migrate, in seconds, one line per migrating VM.
//
//   migration MEM_MIB LINK_MBPS INTENSITY_PCT MIG_SPEED_MIB_S VMS
//
// Every host has a full-duplex NIC of LINK_MBPS (a split-duplex link, 10 us latency: a
// flow's acknowledgements, SimGrid's cross traffic, go the other way, as on a real NIC)
// and 4 cores of 1 Gflop/s. Each
// of the VMS source hosts holds one VM of MEM_MIB with one core kept busy, so that it
// dirties memory at INTENSITY_PCT % of MIG_SPEED_MIB_S (SimGrid ties dirtying to the
// VM's computation), and all VMs migrate at once to one target host: with two VMs,
// both flows share the target's NIC. MIG_SPEED_MIB_S is also each migration's rate cap,
// chosen above the link so that the link decides.
#include <simgrid/plugins/live_migration.h>
#include <simgrid/s4u.hpp>
#include <simgrid/s4u/VirtualMachine.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace sg4 = simgrid::s4u;

int main(int argc, char* argv[])
{
  sg4::Engine e(&argc, argv);
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s MEM_MIB LINK_MBPS INTENSITY_PCT MIG_SPEED_MIB_S VMS\n", argv[0]);
    return 2;
  }
  const int mem_mib      = std::atoi(argv[1]);
  const double link_mbps = std::atof(argv[2]);
  const int intensity    = std::atoi(argv[3]);
  const int mig_speed    = std::atoi(argv[4]);
  const int vms          = std::atoi(argv[5]);
  if (mem_mib <= 0 || link_mbps <= 0 || intensity < 0 || mig_speed <= 0 || vms < 1) {
    std::fprintf(stderr, "bad arguments\n");
    return 2;
  }
  sg_vm_live_migration_plugin_init();

  auto* zone = sg4::create_full_zone("world");
  auto host = [&](const std::string& name) {
    auto* h  = zone->create_host(name, 1e9)->set_core_count(4)->seal();
    auto* nic = zone->create_split_duplex_link(name + "-nic", link_mbps * 1e6 / 8)->set_latency(1e-5)->seal();
    return std::make_pair(h, nic);
  };
  auto dst = host("dst");
  std::vector<std::pair<sg4::Host*, sg4::Link*>> srcs;
  for (int i = 0; i < vms; i++) {
    srcs.push_back(host("src" + std::to_string(i)));
    zone->add_route(srcs.back().first->get_netpoint(), dst.first->get_netpoint(), nullptr, nullptr,
                    {sg4::LinkInRoute(srcs.back().second, sg4::LinkInRoute::Direction::UP),
                     sg4::LinkInRoute(dst.second, sg4::LinkInRoute::Direction::DOWN)},
                    true);
  }
  zone->seal();

  std::vector<double> took(vms, -1.0);
  for (int i = 0; i < vms; i++) {
    sg4::Host* pm = srcs[i].first;
    sg4::Host* to = dst.first;
    sg4::Actor::create("migrate" + std::to_string(i), pm, [i, pm, to, mem_mib, mig_speed, intensity, &took]() {
      auto* vm = sg_vm_create_migratable(pm, ("vm" + std::to_string(i)).c_str(), 1, mem_mib, mig_speed, intensity);
      vm->start();
      // Keep the VM's core busy for the whole run: it dirties memory as it computes. In
      // 1 s pieces: SimGrid counts a piece's flops as it completes, and a single huge
      // piece would lose them to rounding.
      sg4::Actor::create("load", vm, []() {
        for (;;)
          sg4::this_actor::execute(1e9);
      })->daemonize();
      sg4::this_actor::sleep_for(1.0);
      double start = sg4::Engine::get_clock();
      sg_vm_migrate(vm, to);
      took[i] = sg4::Engine::get_clock() - start;
    });
  }
  e.run();
  for (double t : took)
    std::printf("%.6f\n", t);
  return 0;
}
