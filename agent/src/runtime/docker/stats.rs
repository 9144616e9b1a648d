//! CPU and memory from the engine's stats sample, computed the way
//! `docker stats` does.
//!
//! A sample (`GET /containers/NAME/stats?stream=false`) holds two CPU
//! readings about a second apart: `cpu_stats` and `precpu_stats`. The
//! container's share of the whole machine over that second is
//! `Δ container CPU time / Δ system CPU time`; times the number of online
//! CPUs it becomes percent of **one core** (200% = two cores busy), the
//! unit [`Usage::cpu_percent`](crate::runtime::Usage::cpu_percent) uses.
//!
//! Memory is the cgroup's usage less its inactive page cache (`docker stats`
//! subtracts `total_inactive_file` under cgroup v1, `inactive_file` under
//! v2): files the world read once do not count against it.

use bollard::models::ContainerStatsResponse;

/// Percent of one core the container used between the two readings; 0 when
/// a reading is missing (a container that just started).
pub fn cpu_percent(stats: &ContainerStatsResponse) -> f64 {
    let (Some(now), Some(before)) = (&stats.cpu_stats, &stats.precpu_stats) else {
        return 0.0;
    };
    let total = |s: &bollard::models::ContainerCpuStats| {
        s.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let cpu_delta = total(now).saturating_sub(total(before));
    let system_delta = now
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(before.system_cpu_usage.unwrap_or(0));
    let online = now
        .online_cpus
        .filter(|n| *n > 0)
        .map(u64::from)
        .or_else(|| {
            now.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|p| p.len() as u64)
        })
        .unwrap_or(1);
    if cpu_delta == 0 || system_delta == 0 {
        return 0.0;
    }
    cpu_delta as f64 / system_delta as f64 * online as f64 * 100.0
}

/// Memory in use, MiB, without the inactive page cache.
pub fn memory_mib(stats: &ContainerStatsResponse) -> f64 {
    let Some(memory) = &stats.memory_stats else {
        return 0.0;
    };
    let usage = memory.usage.unwrap_or(0);
    let inactive = memory
        .stats
        .as_ref()
        .and_then(|s| {
            s.get("total_inactive_file")
                .or_else(|| s.get("inactive_file"))
        })
        .copied()
        .unwrap_or(0);
    let used = if inactive < usage {
        usage - inactive
    } else {
        usage
    };
    used as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats};
    use std::collections::HashMap;

    fn cpu(total: u64, system: u64, online: Option<u32>) -> ContainerCpuStats {
        ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total),
                percpu_usage: Some(vec![0; 4]),
                ..Default::default()
            }),
            system_cpu_usage: Some(system),
            online_cpus: online,
            ..Default::default()
        }
    }

    #[test]
    fn cpu_is_percent_of_one_core() {
        // Half of the machine's time on a 4-CPU machine: two cores busy.
        let stats = ContainerStatsResponse {
            cpu_stats: Some(cpu(1_500, 2_000, Some(4))),
            precpu_stats: Some(cpu(500, 0, Some(4))),
            ..Default::default()
        };
        assert!((cpu_percent(&stats) - 200.0).abs() < 1e-9);
        // Without online_cpus, the per-CPU list counts them.
        let stats = ContainerStatsResponse {
            cpu_stats: Some(cpu(600, 4_000, None)),
            precpu_stats: Some(cpu(500, 0, None)),
            ..Default::default()
        };
        assert!((cpu_percent(&stats) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn cpu_without_two_readings_is_zero() {
        assert_eq!(cpu_percent(&ContainerStatsResponse::default()), 0.0);
        let first = ContainerStatsResponse {
            cpu_stats: Some(cpu(500, 1_000, Some(2))),
            precpu_stats: Some(ContainerCpuStats::default()),
            ..Default::default()
        };
        // The first sample has no earlier system time: the delta is all of
        // it, not a division by zero.
        assert!(cpu_percent(&first).is_finite());
        let idle = ContainerStatsResponse {
            cpu_stats: Some(cpu(500, 1_000, Some(2))),
            precpu_stats: Some(cpu(500, 1_000, Some(2))),
            ..Default::default()
        };
        assert_eq!(cpu_percent(&idle), 0.0);
    }

    #[test]
    fn memory_leaves_out_the_inactive_page_cache() {
        let mib = 1024 * 1024;
        let stats = |key: &str| ContainerStatsResponse {
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(40 * mib),
                stats: Some(HashMap::from([(key.to_owned(), 8 * mib)])),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(memory_mib(&stats("total_inactive_file")), 32.0);
        assert_eq!(memory_mib(&stats("inactive_file")), 32.0);
        assert_eq!(memory_mib(&stats("other")), 40.0);
        assert_eq!(memory_mib(&ContainerStatsResponse::default()), 0.0);
    }
}
