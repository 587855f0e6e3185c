// Package kit is the shared half of every regionctl driver: a driver
// declares each resource type once — a Go struct for its inputs, one for
// its outputs, and a typed handler — and the kit does the rest the same way
// for every cloud.
//
// From the struct tags (`kit:"name,replace,set,omitempty,sensitive"`) the
// kit derives the type's providers.ResourceSchema, which the driver
// publishes in Capabilities.Resources. With the schema the kit
//   - routes Create, Read, Update, Delete, Find, ImportID and UpgradeState to the
//     type's handler (Router), after checking that inputs hold no
//     unresolved references;
//   - decodes the engine's untyped providers.Values into the input struct
//     and encodes the handler's structs back, with errors that name the
//     field ("aws: create r/aws_vpc.main: input cidr: want a string, got
//     number 5") instead of silent zero values;
//   - normalises what Read reports: lists tagged "set" keep the recorded
//     order when they hold the same elements, else they are sorted, so a
//     cloud that reorders a set never shows as drift; sensitive outputs are
//     dropped before they can reach state;
//   - refuses in-place changes of inputs tagged "replace" and fills each
//     expanded resource's ForceNew from the schema (Router.Finish), so the
//     engine's replacement rules and the plan's explanations come from one
//     place;
//   - upgrades values stored under an older schema version (Type.Upgrades),
//     both when the engine asks (providers.StateUpgrader) and whenever a
//     call carries an older providers.Instance.SchemaVersion;
//   - wraps every error a handler returns into the engine's error classes
//     (providers.ErrNotFound, ErrThrottled, ErrBusy, ErrPermanent) through
//     the driver's own classifier, keeping the message.
//
// Handlers use Retry and Backoff.Poll for the cloud's throttling and
// long-running operations: exponential backoff with jitter that waits at
// least as long as the server's hint (Retry-After and friends, see
// RetryAfter).
//
// The kit leaves the cloud's own work to the driver: Expand, Validate,
// Capabilities and the SDK calls inside each handler.
package kit
