package azure_test

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/regionctl/regionctl/sandbox"
)

// TestAgentPoolNodeOptions: an agent pool's OS disk, maxPods and OS are
// stored, defaulted and returned as AKS does, what AKS refuses is refused
// with its error shape, and what it cannot change in place cannot be
// changed.
func TestAgentPoolNodeOptions(t *testing.T) {
	e := start(t, sandbox.Options{})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	cl := mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)))
	if wp := cl.Properties.WindowsProfile; wp == nil || deref(wp.AdminUsername) != "azureuser" || wp.AdminPassword != nil {
		t.Errorf("an Azure CNI cluster's windowsProfile = %+v; AKS generates one (admin azureuser, no password returned)", wp)
	}
	sys := cl.Properties.AgentPoolProfiles[0]
	if deref(sys.MaxPods) != 250 || deref(sys.OSDiskSizeGB) != 128 || deref(sys.OSType) != armcontainerservice.OSTypeLinux || deref(sys.OSSKU) != armcontainerservice.OSSKUUbuntu {
		t.Errorf("System pool defaults maxPods %d, osDisk %d GB, %s/%s; want 250 (Azure CNI Overlay), 128, Linux/Ubuntu",
			deref(sys.MaxPods), deref(sys.OSDiskSizeGB), deref(sys.OSType), deref(sys.OSSKU))
	}

	pool := func(mod func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties)) armcontainerservice.AgentPool {
		p := armcontainerservice.AgentPool{Properties: &armcontainerservice.ManagedClusterAgentPoolProfileProperties{
			Mode: ptr(armcontainerservice.AgentPoolModeUser), VMSize: s("Standard_D4s_v5"), VnetSubnetID: s(subnet), Count: i32(1),
		}}
		mod(p.Properties)
		return p
	}
	win := mustWait(t, e, mkPoller(e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "win", pool(func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
		p.OSType, p.MaxPods, p.OSDiskSizeGB, p.OSDiskType = ptr(armcontainerservice.OSTypeWindows), i32(60), i32(64), ptr(armcontainerservice.OSDiskTypeManaged)
	}), nil)))
	got, err := e.ap.Get(ctx, "rg", "aks", "win", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*armcontainerservice.ManagedClusterAgentPoolProfileProperties{win.Properties, got.Properties} {
		if deref(p.OSType) != armcontainerservice.OSTypeWindows || deref(p.OSSKU) != armcontainerservice.OSSKUWindows2022 ||
			deref(p.MaxPods) != 60 || deref(p.OSDiskSizeGB) != 64 || deref(p.OSDiskType) != armcontainerservice.OSDiskTypeManaged {
			t.Errorf("Windows pool %s/%s, maxPods %d, osDisk %d GB %s; want Windows/Windows2022, 60, 64 GB Managed",
				deref(p.OSType), deref(p.OSSKU), deref(p.MaxPods), deref(p.OSDiskSizeGB), deref(p.OSDiskType))
		}
	}
	mustWait(t, e, mkPoller(e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "linux", pool(func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
		p.OSSKU = ptr(armcontainerservice.OSSKUUbuntu)
	}), nil)))

	change := func(name string, mod func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties)) error {
		t.Helper()
		cur, err := e.ap.Get(ctx, "rg", "aks", name, nil)
		if err != nil {
			t.Fatal(err)
		}
		mod(cur.Properties)
		_, err = wait(t, e, mkPoller(e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", name, cur.AgentPool, nil)))
		return err
	}
	// AKS migrates a Linux pool's OS SKU in place.
	if err := change("linux", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
		p.OSSKU = ptr(armcontainerservice.OSSKUAzureLinux)
	}); err != nil {
		t.Errorf("Ubuntu → AzureLinux: %v", err)
	}

	refused := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"Windows pool name over 6 characters", func() error {
			_, err := e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "windows1", pool(func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
				p.OSType = ptr(armcontainerservice.OSTypeWindows)
			}), nil)
			return err
		}, "InvalidParameter", 400},
		{"Windows on Arm", func() error {
			_, err := e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "warm", pool(func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
				p.OSType, p.VMSize = ptr(armcontainerservice.OSTypeWindows), s("Standard_D4ps_v5")
			}), nil)
			return err
		}, "InvalidParameter", 400},
		{"Ubuntu on Windows", func() error {
			_, err := e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "wub", pool(func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
				p.OSType, p.OSSKU = ptr(armcontainerservice.OSTypeWindows), ptr(armcontainerservice.OSSKUUbuntu)
			}), nil)
			return err
		}, "InvalidParameter", 400},
		{"OS disk under 30 GB", func() error {
			_, err := e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "small", pool(func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) { p.OSDiskSizeGB = i32(20) }), nil)
			return err
		}, "InvalidParameter", 400},
		{"maxPods under 10", func() error {
			_, err := e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "few", pool(func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) { p.MaxPods = i32(8) }), nil)
			return err
		}, "InvalidParameter", 400},
		{"System pool with maxPods under 30", func() error {
			_, err := e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "sys2", pool(func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
				p.Mode, p.MaxPods = ptr(armcontainerservice.AgentPoolModeSystem), i32(20)
			}), nil)
			return err
		}, "InvalidParameter", 400},
		{"maxPods changed", func() error {
			return change("win", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) { p.MaxPods = i32(70) })
		}, "PropertyChangeNotAllowed", 400},
		{"OS disk resized", func() error {
			return change("win", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) { p.OSDiskSizeGB = i32(100) })
		}, "PropertyChangeNotAllowed", 400},
		{"Windows pool to Linux", func() error {
			return change("win", func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
				p.OSType, p.OSSKU = ptr(armcontainerservice.OSTypeLinux), ptr(armcontainerservice.OSSKUUbuntu)
			})
		}, "PropertyChangeNotAllowed", 400},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if c, st := code(err); c != tc.code || st != tc.status {
				t.Errorf("error %v (%s %d); want %s %d", err, c, st, tc.code, tc.status)
			}
		})
	}

	// Kubenet clusters cannot have Windows pools, nor more than 110 pods
	// per node.
	body := clusterBody(subnet, "1.33")
	body.Properties.NetworkProfile = &armcontainerservice.NetworkProfile{NetworkPlugin: ptr(armcontainerservice.NetworkPluginKubenet),
		ServiceCidr: s("172.16.0.0/16"), DNSServiceIP: s("172.16.0.10")}
	body.Properties.AgentPoolProfiles[0].MaxPods = i32(200)
	if _, err := e.mc.BeginCreateOrUpdate(ctx, "rg", "kubenet", body, nil); !hasCode(err, "InvalidParameter", 400) {
		t.Errorf("kubenet with maxPods 200: %v; want InvalidParameter", err)
	}
	body.Properties.AgentPoolProfiles[0].MaxPods = nil
	kn := mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "kubenet", body, nil)))
	if kn.Properties.WindowsProfile != nil || deref(kn.Properties.AgentPoolProfiles[0].MaxPods) != 110 {
		t.Errorf("kubenet cluster: windowsProfile %+v, maxPods %d; want none and 110", kn.Properties.WindowsProfile, deref(kn.Properties.AgentPoolProfiles[0].MaxPods))
	}
	_, err = e.ap.BeginCreateOrUpdate(ctx, "rg", "kubenet", "win", pool(func(p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) {
		p.OSType = ptr(armcontainerservice.OSTypeWindows)
	}), nil)
	if !hasCode(err, "InvalidParameter", 400) {
		t.Errorf("Windows pool on kubenet: %v; want InvalidParameter", err)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
