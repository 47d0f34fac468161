//! Service discovery mechanisms of Prometheus that Sextant does not implement, named so a
//! configuration that uses one is refused with one line saying what to use instead.
//!
//! Supported: `static_configs`, `file_sd_configs` and `http_sd_configs` (see
//! [`super::discovery`]). Every mechanism below can be replaced by one of those: a tool (or a
//! cron job) that writes the targets into a file for `file_sd_configs`, or a small endpoint
//! that lists them for `http_sd_configs`.

/// `(configuration key, what it discovers)` for each mechanism Prometheus has and Sextant not.
pub const UNSUPPORTED: &[(&str, &str)] = &[
    ("azure_sd_configs", "Azure VMs"),
    ("consul_sd_configs", "Consul services"),
    ("digitalocean_sd_configs", "DigitalOcean droplets"),
    ("dns_sd_configs", "DNS SRV/A records"),
    ("docker_sd_configs", "Docker containers"),
    ("dockerswarm_sd_configs", "Docker Swarm tasks"),
    ("ec2_sd_configs", "AWS EC2 instances"),
    ("eureka_sd_configs", "Eureka applications"),
    ("gce_sd_configs", "GCE instances"),
    ("hetzner_sd_configs", "Hetzner servers"),
    ("ionos_sd_configs", "IONOS servers"),
    ("kubernetes_sd_configs", "Kubernetes objects"),
    ("kuma_sd_configs", "Kuma dataplanes"),
    ("lightsail_sd_configs", "AWS Lightsail instances"),
    ("linode_sd_configs", "Linode instances"),
    ("marathon_sd_configs", "Marathon apps"),
    ("nerve_sd_configs", "Nerve registrations"),
    ("nomad_sd_configs", "Nomad services"),
    ("openstack_sd_configs", "OpenStack instances"),
    ("ovhcloud_sd_configs", "OVHcloud servers"),
    ("puppetdb_sd_configs", "PuppetDB resources"),
    ("scaleway_sd_configs", "Scaleway instances"),
    ("serverset_sd_configs", "Zookeeper serversets"),
    ("stackit_sd_configs", "STACKIT servers"),
    ("triton_sd_configs", "Triton containers"),
    ("uyuni_sd_configs", "Uyuni systems"),
    ("vultr_sd_configs", "Vultr instances"),
];

/// The one-line refusal for `key` in the section `place` (e.g. `job "node"`), or `None` when
/// `key` is not a discovery mechanism Sextant lacks.
pub fn refusal(place: &str, key: &str) -> Option<String> {
    let (_, what) = UNSUPPORTED.iter().find(|(k, _)| *k == key)?;
    Some(format!(
        "{place}: {key} (discovery of {what}) is not supported by Sextant; list the targets in \
         static_configs, or have a tool write them to a file for file_sd_configs or serve them \
         for http_sd_configs"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_place_the_mechanism_and_the_way_out() {
        let m = refusal("job \"pods\"", "kubernetes_sd_configs").expect("unsupported");
        assert!(m.starts_with("job \"pods\": kubernetes_sd_configs"), "{m}");
        assert!(
            m.contains("file_sd_configs") && m.contains("http_sd_configs"),
            "{m}"
        );
        assert!(!m.contains('\n'));
        assert_eq!(refusal("job \"a\"", "file_sd_configs"), None);
        assert_eq!(refusal("job \"a\"", "static_configs"), None);
    }
}
