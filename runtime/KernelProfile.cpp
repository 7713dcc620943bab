//===- KernelProfile.cpp - Device time per GPU kernel ---------------------===//
//
// Part of the Infini runtime; see KernelProfile.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/KernelProfile.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

using namespace infini::rt;

void KernelProfile::add(const std::string &kernel, double seconds) {
  Entry &entry = kernels[kernel];
  entry.name = kernel;
  ++entry.launches;
  entry.seconds += seconds;
}

double KernelProfile::totalSeconds() const {
  double total = 0;
  for (const auto &[name, entry] : kernels)
    total += entry.seconds;
  return total;
}

int64_t KernelProfile::totalLaunches() const {
  int64_t total = 0;
  for (const auto &[name, entry] : kernels)
    total += entry.launches;
  return total;
}

/// `entries` by decreasing time, then by name.
static std::vector<KernelProfile::Entry>
sorted(std::vector<KernelProfile::Entry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const KernelProfile::Entry &a, const KernelProfile::Entry &b) {
              if (a.seconds != b.seconds)
                return a.seconds > b.seconds;
              return a.name < b.name;
            });
  return entries;
}

std::vector<KernelProfile::Entry> KernelProfile::entries() const {
  std::vector<Entry> result;
  for (const auto &[name, entry] : kernels)
    result.push_back(entry);
  return sorted(std::move(result));
}

std::vector<KernelProfile::Entry> KernelProfile::byKind() const {
  std::map<std::string, Entry> kinds;
  for (const auto &[name, entry] : kernels) {
    std::string kindName = kindOf(name);
    Entry &kind = kinds[kindName];
    kind.name = kindName;
    kind.launches += entry.launches;
    kind.seconds += entry.seconds;
  }
  std::vector<Entry> result;
  for (const auto &[name, entry] : kinds)
    result.push_back(entry);
  return sorted(std::move(result));
}

std::string KernelProfile::kindOf(const std::string &kernel) {
  // `..._kernel_<digits>_<kind>`
  static const std::string marker = "_kernel_";
  size_t at = kernel.rfind(marker);
  if (at == std::string::npos)
    return "other";
  size_t digits = at + marker.size(), end = digits;
  while (end < kernel.size() &&
         std::isdigit(static_cast<unsigned char>(kernel[end])))
    ++end;
  if (end == digits || end + 1 >= kernel.size() || kernel[end] != '_')
    return "other";
  return kernel.substr(end + 1);
}

std::string KernelProfile::format() const {
  double total = totalSeconds();
  std::vector<Entry> rows = entries();
  rows.push_back({"total", totalLaunches(), total});
  for (const Entry &kind : byKind())
    rows.push_back({"kind " + kind.name, kind.launches, kind.seconds});
  size_t width = std::string("kernel").size();
  for (const Entry &entry : rows)
    width = std::max(width, entry.name.size());
  char line[512];
  std::snprintf(line, sizeof(line), "%-*s %9s %12s %10s %7s\n",
                static_cast<int>(width), "kernel", "launches", "total ms",
                "mean us", "share");
  std::string text = line;
  for (const Entry &entry : rows) {
    double share = total > 0 ? 100.0 * entry.seconds / total : 0.0;
    double mean = entry.launches ? entry.seconds * 1e6 / entry.launches : 0.0;
    std::snprintf(line, sizeof(line), "%-*s %9lld %12.3f %10.1f %6.1f%%\n",
                  static_cast<int>(width), entry.name.c_str(),
                  static_cast<long long>(entry.launches), entry.seconds * 1e3,
                  mean, share);
    text += line;
  }
  return text;
}
