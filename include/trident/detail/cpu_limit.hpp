#pragma once
// The CPUs this process may use: its affinity mask and its cgroup's CPU quota (cgroup v2 `cpu.max`,
// v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`), behind trident::default_concurrency().  oneTBB
// 2021 reads the affinity mask but not the quota: in a container limited to 2 CPUs on a 64-core
// host it runs 64 threads, which take turns on 2 CPUs.
//
// The parsers take the files' contents, so that tests can feed them fixtures; cgroup_cpu_limit()
// reads the quota files under the mount points that /proc/self/mountinfo names.

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <cerrno>
#include <sched.h>
#endif

namespace trident::detail {

/// The whole text as a number (leading and trailing white space allowed), or nothing.
inline std::optional<long long> parse_whole_number(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t\n");
    if (first == std::string_view::npos)
        return std::nullopt;
    text = text.substr(first, text.find_last_not_of(" \t\n") - first + 1);
    long long value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

/// CPUs a quota of `quota` microseconds per `period` allows: ceil(quota / period); 0 (no limit)
/// when either is not positive.
inline int cpus_of_quota(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    const long long cpus = quota / period + (quota % period != 0 ? 1 : 0);
    return static_cast<int>(std::min<long long>(cpus, 1 << 20));
}

/// cgroup v2 `cpu.max` ("$MAX $PERIOD", MAX "max" when unlimited): the CPUs it allows, 0 when
/// unlimited or malformed ("max 100000" -> 0, "200000 100000" -> 2, "150000 100000" -> 2).
inline int parse_cpu_max(std::string_view text)
{
    const auto space = text.find(' ');
    if (space == std::string_view::npos)
        return 0;
    const auto quota = parse_whole_number(text.substr(0, space));
    const auto period = parse_whole_number(text.substr(space + 1));
    return quota && period ? cpus_of_quota(*quota, *period) : 0;
}

/// cgroup v1 `cpu.cfs_quota_us` (-1 when unlimited) and `cpu.cfs_period_us`: as parse_cpu_max.
inline int parse_cfs_quota(std::string_view quota_text, std::string_view period_text)
{
    const auto quota = parse_whole_number(quota_text);
    const auto period = parse_whole_number(period_text);
    return quota && period ? cpus_of_quota(*quota, *period) : 0;
}

/// The lines of `text`.
inline std::vector<std::string_view> text_lines(std::string_view text)
{
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const auto end = std::min(text.find('\n'), text.size());
        if (end > 0)
            lines.push_back(text.substr(0, end));
        text.remove_prefix(std::min(end + 1, text.size()));
    }
    return lines;
}

/// Whether the comma-separated `list` holds `item`.
inline bool list_holds(std::string_view list, std::string_view item)
{
    while (true) {
        const auto comma = list.find(',');
        if (list.substr(0, comma) == item)
            return true;
        if (comma == std::string_view::npos)
            return false;
        list.remove_prefix(comma + 1);
    }
}

/// Where a process's CPU controller is: its cgroup path in the v2 hierarchy and in v1's "cpu"
/// hierarchy, from /proc/self/cgroup ("0::/path" and, say, "4:cpu,cpuacct:/path").
struct cgroup_paths {
    std::optional<std::string> v2;
    std::optional<std::string> v1_cpu;
};

inline cgroup_paths parse_proc_cgroup(std::string_view text)
{
    cgroup_paths paths;
    for (const std::string_view line : text_lines(text)) {
        const auto first = line.find(':');
        const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
        if (second == std::string_view::npos || line.size() <= second + 1 || line[second + 1] != '/')
            continue;
        const std::string_view id = line.substr(0, first);
        const std::string_view controllers = line.substr(first + 1, second - first - 1);
        const std::string path(line.substr(second + 1));
        if (id == "0" && controllers.empty())
            paths.v2 = path;
        else if (list_holds(controllers, "cpu"))
            paths.v1_cpu = path;
    }
    return paths;
}

/// A cgroup file system's mount: the cgroup path at its root and where it is mounted.
struct cgroup_mount {
    std::string root;
    std::string point;
};

struct cgroup_mounts {
    std::optional<cgroup_mount> v2;
    std::optional<cgroup_mount> v1_cpu;
};

/// The cgroup2 mount and the v1 mount holding the cpu controller, from /proc/self/mountinfo
/// ("ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS").
inline cgroup_mounts parse_mountinfo(std::string_view text)
{
    cgroup_mounts mounts;
    for (const std::string_view line : text_lines(text)) {
        std::istringstream fields{std::string(line)};
        std::string id, parent, device, root, point, options, word;
        if (!(fields >> id >> parent >> device >> root >> point >> options))
            continue;
        while (fields >> word && word != "-") {
        }
        std::string type, source, super_options;
        if (word != "-" || !(fields >> type >> source >> super_options))
            continue;
        if (type == "cgroup2" && !mounts.v2)
            mounts.v2 = cgroup_mount{root, point};
        else if (type == "cgroup" && list_holds(super_options, "cpu") && !mounts.v1_cpu)
            mounts.v1_cpu = cgroup_mount{root, point};
    }
    return mounts;
}

/// A file's contents, or nothing when it cannot be read.
inline std::optional<std::string> read_small_file(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// The directories from the cgroup `path`'s own up to the mount point (the path relative to the
/// mount's root; a path outside it, as a namespaced process may see, is the mount point alone).
inline std::vector<std::string> cgroup_dirs(const cgroup_mount& mount, std::string path)
{
    std::string relative;
    if (mount.root == "/")
        relative = path;
    else if (path.compare(0, mount.root.size(), mount.root) == 0 &&
             (path.size() == mount.root.size() || path[mount.root.size()] == '/'))
        relative = path.substr(mount.root.size());
    while (!relative.empty() && relative.back() == '/')
        relative.pop_back();
    std::vector<std::string> dirs;
    while (true) {
        dirs.push_back(mount.point + relative);
        if (relative.empty())
            return dirs;
        relative.erase(relative.rfind('/'));
    }
}

/// The CPUs the cgroup quotas allow this process: the smallest limit on the way from its cgroup up
/// to the mount point, in the v2 and the v1 cpu hierarchies; 0 when none is set or readable.
inline int cgroup_cpu_limit(std::string_view proc_self_cgroup, std::string_view proc_self_mountinfo)
{
    const cgroup_paths paths = parse_proc_cgroup(proc_self_cgroup);
    const cgroup_mounts mounts = parse_mountinfo(proc_self_mountinfo);
    int limit = 0;
    auto take = [&limit](int cpus) {
        if (cpus > 0)
            limit = limit == 0 ? cpus : std::min(limit, cpus);
    };
    if (paths.v2 && mounts.v2) {
        for (const std::string& dir : cgroup_dirs(*mounts.v2, *paths.v2))
            if (const auto text = read_small_file(dir + "/cpu.max"))
                take(parse_cpu_max(*text));
    }
    if (paths.v1_cpu && mounts.v1_cpu) {
        for (const std::string& dir : cgroup_dirs(*mounts.v1_cpu, *paths.v1_cpu)) {
            const auto quota = read_small_file(dir + "/cpu.cfs_quota_us");
            const auto period = read_small_file(dir + "/cpu.cfs_period_us");
            if (quota && period)
                take(parse_cfs_quota(*quota, *period));
        }
    }
    return limit;
}

/// CPUs in the calling thread's affinity mask; 0 when unknown.
inline int affinity_cpus()
{
#if defined(__linux__)
    for (int cpus = 1024; cpus <= (1 << 22); cpus *= 2) {
        cpu_set_t* set = CPU_ALLOC(cpus);
        if (set == nullptr)
            return 0;
        const std::size_t bytes = CPU_ALLOC_SIZE(cpus);
        const int got = sched_getaffinity(0, bytes, set);
        const int count = got == 0 ? CPU_COUNT_S(bytes, set) : 0;
        const int error = errno;
        CPU_FREE(set);
        if (got == 0)
            return count;
        if (error != EINVAL) // EINVAL: the kernel's mask is bigger than ours
            return 0;
    }
#endif
    return 0;
}

/// min(affinity count, quota), the hardware threads when neither is known; at least 1.
inline int usable_cpus_now()
{
    int cpus = affinity_cpus();
    if (cpus <= 0)
        cpus = static_cast<int>(std::thread::hardware_concurrency());
#if defined(__linux__)
    const int quota = cgroup_cpu_limit(read_small_file("/proc/self/cgroup").value_or(""),
                                       read_small_file("/proc/self/mountinfo").value_or(""));
    if (quota > 0)
        cpus = cpus > 0 ? std::min(cpus, quota) : quota;
#endif
    return std::max(cpus, 1);
}

/// usable_cpus_now() of the first call (the thread that makes it reads its own affinity mask, as
/// oneTBB does when it starts).
inline int usable_cpus()
{
    static const int cpus = usable_cpus_now();
    return cpus;
}

} // namespace trident::detail
