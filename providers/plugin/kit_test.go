package plugin_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// A kit driver for the schema and state-upgrade checks: one type,
// toy_disk, whose schema version 1 renamed size_gb to size. Its handler
// never reaches a cloud: those checks make no cloud call.

// renameSizeGB is version 0 → 1 of toy_disk: size_gb became size.
func renameSizeGB(in, out providers.Values) (providers.Values, providers.Values, error) {
	in["size"] = in["size_gb"]
	delete(in, "size_gb")
	return in, out, nil
}

type diskIn struct {
	Zone string            `kit:"zone,replace" why:"a disk cannot move between zones"`
	Size int               `kit:"size"`
	Tags map[string]string `kit:"tags"`
}

type diskOut struct {
	ID string `kit:"id"`
}

type diskCall = kit.Call[kit.None, diskIn, diskOut]

var errNoCloud = errors.New("toy_disk has no cloud: the test makes no cloud call")

type noCloud struct{}

func (noCloud) Create(context.Context, *diskCall) (string, error) { return "", errNoCloud }
func (noCloud) Delete(context.Context, *diskCall) error           { return errNoCloud }
func (noCloud) Read(context.Context, *diskCall) (*kit.Live[diskIn, diskOut], error) {
	return nil, errNoCloud
}

type kitDriver struct{ *kit.Router }

func newKitDriver() (providers.Driver, error) {
	r, err := kit.New(kit.Options{Name: "mem"}, kit.Type[kit.None, diskIn, diskOut]{
		Name: "toy_disk", Handler: noCloud{}, Upgrades: []kit.Upgrade{renameSizeGB}})
	if err != nil {
		return nil, err
	}
	return &kitDriver{Router: r}, nil
}

func (d *kitDriver) Capabilities() providers.Capabilities {
	return providers.Capabilities{Name: "mem", Description: "a kit driver behind the plugin boundary", Resources: d.Schemas()}
}

func (d *kitDriver) Expand(context.Context, providers.ExpandRequest) (providers.ExpandResponse, error) {
	return providers.ExpandResponse{}, nil
}

// identityKitDriver is the kit driver with an account and kinds: its
// account is the region's "account" input, and it says whether it was
// built offline in the principal (so a test sees Options.Offline reach
// the plugin). toy_disk poses as the node pool kind.
type identityKitDriver struct {
	*kitDriver
	offline bool
}

func (d *identityKitDriver) Identity(_ context.Context, req providers.IdentityRequest) (providers.IdentityResponse, error) {
	return providers.IdentityResponse{Identity: providers.Identity{
		Kind: "Toy account", ID: providers.FirstInput(req.Resources, "account"), Principal: fmt.Sprintf("offline=%v", d.offline)}}, nil
}

func (d *identityKitDriver) Kind(resourceType string) providers.Kind {
	return providers.Kinds{"toy_disk": providers.KindNodePool}[resourceType]
}
