// A fleet: one region template rendered onto AWS, GCP and Azure, two
// regions on each, for one environment — and, with the DigitalOcean driver
// plugin installed (plugins/digitalocean), one region on DigitalOcean.
//
//   regionctl plan -f examples/fleet.jsonnet                        # env=prod
//   regionctl plan -f examples/fleet.jsonnet --tla-str env=staging
//   regionctl plan -f examples/fleet.jsonnet --tla-str plugins=digitalocean
//   jsonnet --tla-str env=staging examples/fleet.jsonnet            # see the JSON
//
// The program is a function of its top-level arguments `env` and `plugins`
// (a comma-separated list of driver plugins whose regions to add; none by
// default, so the fleet validates where no plugin is installed), so it
// also runs with plain `jsonnet examples/fleet.jsonnet`.
function(env='prod', plugins='')
  assert std.member(['prod', 'staging', 'dev'], env) : 'env must be prod, staging or dev, got ' + env;
  local pluginList = std.filter(function(p) p != '', std.split(plugins, ','));
  assert std.all([std.member(['digitalocean'], p) for p in pluginList]) : 'plugins may name digitalocean, got ' + plugins;

  // Size of everything per environment.
  local sizes = {
    prod: { zones: 3, systemMin: 3, ingestMax: 30, protect: true, nat: false },
    staging: { zones: 2, systemMin: 1, ingestMax: 10, protect: false, nat: true },
    dev: { zones: 1, systemMin: 1, ingestMax: 3, protect: false, nat: true },
  }[env];

  // The second octet of each region's network; regions never overlap.
  // Each environment gets its own block of 64 so environments can peer.
  local envBase = { prod: 0, staging: 64, dev: 128 }[env];

  // The template every region starts from.
  local base(name, octet) = {
    apiVersion: 'regionctl.dev/v1alpha1',
    kind: 'Region',
    metadata: {
      name: env + '-' + name,
      labels: { env: env, team: 'platform' },
    },
    spec: {
      zones: sizes.zones,
      protect: sizes.protect,
      network: {
        cidr: '10.%d.0.0/16' % (envBase + octet),
        singleNatGateway: sizes.nat,
      },
      cluster: {
        kubernetesVersion: '1.33',
        endpointAccess: 'public',
        nodePools: [
          {
            name: 'system',
            machine: { cpu: 4, memoryGiB: 16 },
            min: sizes.systemMin,
            max: sizes.systemMin * 2,
            taints: ['CriticalAddonsOnly=true:NoSchedule'],
          },
          {
            name: 'ingest',
            machine: { cpu: 8, memoryGiB: 32 },
            spot: true,
            min: 0,
            max: sizes.ingestMax,
            labels: { workload: 'ingest' },
            taints: ['workload=ingest:NoSchedule'],
          },
        ],
      },
      storageClasses: [
        { name: 'fast', tier: 'ssd', default: true, reclaimPolicy: 'Retain', expandable: true },
        { name: 'bulk', tier: 'standard' },
      ],
      loadBalancers: [
        {
          name: 'api',
          scheme: 'external',
          ports: [{ port: 443, targetPort: 8443 }],
          selector: { app: 'gateway' },
        },
      ],
    },
  };

  // Per-cloud overlays: the provider and each cloud's own location names.
  local clouds = {
    aws: { locations: { 'use1': 'us-east-1', 'euw1': 'eu-west-1' } },
    gcp: { locations: { 'usc1': 'us-central1', 'euw4': 'europe-west4' } },
    azure: { locations: { 'eus': 'eastus', 'weu': 'westeurope' } },
  };

  // Regions on clouds whose drivers are plugins, each with a network octet
  // of its own (the built-in clouds' octets never move). DigitalOcean
  // regions are a single zone and have no spot droplets.
  local pluginRegions = {
    digitalocean: [
      base('do-fra1', 40) + {
        spec+: {
          provider: 'digitalocean',
          location: 'fra1',
          zones: 1,
          cluster+: { nodePools: [p { spot: false } for p in super.nodePools] },
        },
      },
    ],
  };

  local cloudNames = std.objectFields(clouds);  // sorted: aws, azure, gcp
  [
    base(cloud + '-' + short, 10 * (ci + 1) + li) + {
      spec+: { provider: cloud, location: clouds[cloud].locations[short] },
    }
    for ci in std.range(0, std.length(cloudNames) - 1)
    for cloud in [cloudNames[ci]]
    for li in std.range(0, 1)
    for short in [std.objectFields(clouds[cloud].locations)[li]]
  ] + std.flattenArrays([pluginRegions[p] for p in pluginList])
