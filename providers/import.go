package providers

import "context"

// Importer is implemented by drivers that accept, for `regionctl import`
// and import blocks, a cloud identifier in another form than the ID they
// record: an ARN for an EKS cluster whose ID is its name, a resource path
// or self link for a GCP object, the pool name for a GKE node pool whose
// ID also names its cluster's uid. The engine calls ImportID before it
// reads the object by the ID returned, and records that ID. Without an
// Importer (or for a type it does not know) the user's ID is used as it
// is.
//
// ImportID may call the cloud (to look up a parent), but must not change
// anything. An ID that cannot name an object of the type is an error
// wrapping ErrPermanent, saying which forms the type accepts.
type Importer interface {
	ImportID(ctx context.Context, req ImportIDRequest) (ImportIDResponse, error)
}

// ImportIDRequest carries the identifier a user gave for the resource at
// Address.
type ImportIDRequest struct {
	Address string
	Type    string
	// ID is what the user wrote.
	ID string
	// Inputs are the resource's desired inputs, references resolved where
	// state knows them (the cluster a node pool belongs to, the project,
	// the location): the context an ID alone may lack.
	Inputs Values
}

// ImportIDResponse is the ID the driver records and reads the object by.
type ImportIDResponse struct {
	ID string
}
