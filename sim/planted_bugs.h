// Planted bugs: switches in the configs of raft, kv, node and storage that
// break one guarantee each, so that a sweep proves its checkers catch the
// breakage (sim --bug=NAME; sim --bug=list). Every one is a field of a
// PlantedBugs struct reached through server::NodeOptions, off by default
// and set only here: the production binary is the same code with all of
// them off, and no server flag reaches them.
//
// Adding one is one line in the table of planted_bugs.cc: a name, what it
// breaks, and a setter of the NodeOptions field.
#ifndef ETCDPP_SIM_PLANTED_BUGS_H_
#define ETCDPP_SIM_PLANTED_BUGS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/node/node.h"

namespace etcdpp::sim {

struct PlantedBug {
  const char* name;
  // Which guarantee it breaks, one line, for --bug=list.
  const char* breaks;
  // Turns the bug on in the options of every node the world opens.
  void (*plant)(server::NodeOptions& options);
};

// Every planted bug, in a fixed order.
const std::vector<PlantedBug>& AllPlantedBugs();
// The bug named `name`, or null.
const PlantedBug* FindPlantedBug(absl::string_view name);
// "name: breaks" lines, one per bug.
std::string ListPlantedBugs();

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_PLANTED_BUGS_H_
