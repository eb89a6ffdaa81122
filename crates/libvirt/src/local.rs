//! What sysinfo knows when the hypervisor is this machine: load, swap, and free space where
//! libvirt keeps its images. No libvirt call.

use fleetwatch_core::model::sample::LocalStats;

#[derive(Default)]
pub struct LocalProbe {
    state: Option<(sysinfo::System, sysinfo::Disks, u32)>,
}

impl LocalProbe {
    pub fn stats(&mut self) -> LocalStats {
        let (sys, disks, n) = self.state.get_or_insert_with(|| {
            (
                sysinfo::System::new(),
                sysinfo::Disks::new_with_refreshed_list(),
                0,
            )
        });
        sys.refresh_memory();
        *n += 1;
        if n.is_multiple_of(6) {
            disks.refresh(true);
        }
        let l = sysinfo::System::load_average();
        let image_free_bytes = disks
            .list()
            .iter()
            .filter(|d| {
                std::path::Path::new("/var/lib/libvirt/images").starts_with(d.mount_point())
            })
            .max_by_key(|d| d.mount_point().as_os_str().len())
            .map(|d| d.available_space());
        LocalStats {
            load: [l.one, l.five, l.fifteen],
            swap_total_bytes: sys.total_swap(),
            swap_used_bytes: sys.used_swap(),
            image_free_bytes,
        }
    }
}
