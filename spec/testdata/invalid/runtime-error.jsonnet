local sizes = { small: 2 };
{
  apiVersion: 'regionctl.dev/v1alpha1',
  kind: 'Region',
  metadata: { name: 'x' },
  spec: { zones: sizes.large },
}
