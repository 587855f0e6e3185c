// Two regions rendered from Jsonnet; the second has a bad field and a bad value.
local region(name, cidr) = {
  apiVersion: 'regionctl.dev/v1alpha1',
  kind: 'Region',
  metadata: { name: name },
  spec: {
    provider: 'azure',
    location: 'westeurope',
    network: { cidr: cidr },
    cluster: {
      kubernetesVersion: '1.33',
      nodePools: [{ name: 'system', machine: { cpu: 2, memoryGiB: 8 }, min: 1, max: 3 }],
    },
  },
};
[
  region('one', '10.0.0.0/16'),
  region('two', '10.1.0.0/16') + { spec+: { zonez: 2, cluster+: { endpointAccess: 'privat' } } },
]
