package azure

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Resource kinds an operation can target.
const (
	kindGroup   = "resourceGroup"
	kindCluster = "managedCluster"
	kindPool    = "agentPool"
	kindVNet    = "virtualNetwork"
	kindSubnet  = "subnet"
	kindPIP     = "publicIPAddress"
	kindNAT     = "natGateway"
)

// Provisioning states.
const (
	stCreating  = "Creating"
	stUpdating  = "Updating"
	stDeleting  = "Deleting"
	stSucceeded = "Succeeded"
	stFailed    = "Failed"
)

// Operation statuses the async-operation URL reports.
const (
	opInProgress = "InProgress"
	opSucceeded  = "Succeeded"
	opFailed     = "Failed"
)

const (
	// minPoll is the shortest retry-after-ms the emulator asks for.
	minPoll = 10 * time.Millisecond
	// maxPoll caps Retry-After for long operations, as ARM's 10–15 s.
	maxPoll = 15 * time.Second
	// opRetention is how long finished operations stay pollable.
	opRetention = time.Hour
)

// failCodes are the error codes an injected FaultFail ends an operation with.
var failCodes = map[string][2]string{
	kindGroup:   {"ResourceGroupDeletionFailed", "Deletion of resource group failed. Some resources could not be deleted."},
	kindCluster: {"ReconcileVMSSAgentPoolFailed", "Reconcile VMSS agent pool failed: the virtual machine scale set could not be provisioned."},
	kindPool:    {"ReconcileVMSSAgentPoolFailed", "Reconcile VMSS agent pool failed: the virtual machine scale set could not be provisioned."},
}

// startOp records an asynchronous operation that completes after the
// latency of op (e.g. "azure:managedClusters.createOrUpdate").
func (e *Emulator) startOp(op, kind, target string, del, fail bool) *opRec {
	if del {
		e.cancel(target) // a delete overtakes what runs on the resource
	}
	now := e.env.Now().UTC()
	o := &opRec{ID: uuid.NewString(), Op: op, Kind: kind, Target: target, Delete: del, Fail: fail,
		Start: now, DoneAt: now.Add(e.env.Latency(op)), Status: opInProgress}
	e.st.Ops[o.ID] = o
	return o
}

// baseURL is the scheme and host the client reached us on.
func baseURL(r *http.Request) string { return schemeOf(r) + "://" + r.Host }

func asyncURL(r *http.Request, rt route, loc string, o *opRec) string {
	return baseURL(r) + "/subscriptions/" + rt.sub + "/providers/" + rt.ns + "/locations/" + normLocation(loc) +
		"/operations/" + o.ID + "?api-version=" + newestVersion(rt.ns)
}

func locationURL(r *http.Request, rt route, loc string, o *opRec) string {
	if rt.ns == nsResources {
		return baseURL(r) + "/subscriptions/" + rt.sub + "/operationresults/" + o.ID + "?api-version=" + newestVersion(nsResources)
	}
	return baseURL(r) + "/subscriptions/" + rt.sub + "/providers/" + rt.ns + "/locations/" + normLocation(loc) +
		"/operationresults/" + o.ID + "?api-version=" + newestVersion(rt.ns)
}

// setRetryAfter asks the client to poll again when o is due: Retry-After
// in whole seconds (at least 1, as ARM) and Retry-After-Ms, which azcore
// reads first, in milliseconds.
func (e *Emulator) setRetryAfter(w http.ResponseWriter, o *opRec) {
	d := min(max(o.DoneAt.Sub(e.env.Now()), minPoll), maxPoll)
	if d == minPoll {
		if wait, _ := e.kubeGate(o); wait {
			d = kubePoll // due, but the cluster's API server is still starting
		}
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
	w.Header().Set("Retry-After-Ms", strconv.FormatInt(d.Milliseconds(), 10))
}

// writeLRO answers the request that started o: the resource body (PUT) or
// nothing (DELETE, 202), with the polling headers.
func (e *Emulator) writeLRO(w http.ResponseWriter, r *http.Request, rt route, loc string, o *opRec, status int, body any) {
	if rt.ns != nsResources {
		w.Header().Set("Azure-AsyncOperation", asyncURL(r, rt, loc, o))
	}
	if o.Delete {
		w.Header().Set("Location", locationURL(r, rt, loc, o))
	}
	e.setRetryAfter(w, o)
	if body == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

// serveOperation answers a poll of an Azure-AsyncOperation or Location URL.
func (e *Emulator) serveOperation(w http.ResponseWriter, r *http.Request, rt route) *armErr {
	o, ok := e.st.Ops[rt.opID]
	if !ok {
		return errf(http.StatusNotFound, "NotFound", "The operation '%s' could not be found.", rt.opID)
	}
	if rt.typ == "operationResults" {
		switch o.Status {
		case opInProgress:
			w.Header().Set("Location", baseURL(r)+r.URL.RequestURI())
			e.setRetryAfter(w, o)
			w.WriteHeader(http.StatusAccepted)
		case opSucceeded:
			w.WriteHeader(http.StatusNoContent)
		default:
			return errf(http.StatusConflict, o.ErrCode, "%s", o.ErrMsg)
		}
		return nil
	}
	body := map[string]any{
		"id": r.URL.Path, "name": o.ID, "status": o.Status,
		"startTime": o.Start.Format(time.RFC3339Nano),
	}
	if o.Status != opInProgress {
		body["endTime"] = o.End.Format(time.RFC3339Nano)
	} else {
		e.setRetryAfter(w, o)
	}
	if o.Status != opInProgress && o.Status != opSucceeded {
		body["error"] = map[string]string{"code": o.ErrCode, "message": o.ErrMsg}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// settle completes every operation whose time has come and reports whether
// anything changed.
func (e *Emulator) settle() bool {
	now := e.env.Now()
	changed := false
	// complete in start order, so a delete after a create lands last
	for _, o := range e.sortedOps() {
		if o.Status != opInProgress {
			if now.Sub(o.End) > opRetention {
				delete(e.st.Ops, o.ID)
				changed = true
			}
			continue
		}
		if now.Before(o.DoneAt) {
			continue
		}
		// A cluster is Succeeded only once its API server answers.
		wait, kubeErr := e.kubeGate(o)
		if wait {
			continue
		}
		changed = true
		o.End = o.DoneAt
		if kubeErr != "" {
			o.End = now.UTC()
			o.Fail = true
		}
		o.Status = opSucceeded
		if o.Fail {
			o.Status = opFailed
			fc, ok := failCodes[o.Kind]
			if !ok {
				fc = [2]string{"InternalServerError", "An error occurred while provisioning the resource."}
			}
			if kubeErr != "" {
				fc = [2]string{kubeAPIServerFailed, kubeErr}
			}
			o.ErrCode, o.ErrMsg = fc[0], fc[1]
		}
		e.complete(o)
	}
	return changed
}

func (e *Emulator) sortedOps() []*opRec {
	out := make([]*opRec, 0, len(e.st.Ops))
	for _, o := range e.st.Ops {
		out = append(out, o)
	}
	for i := 1; i < len(out); i++ { // insertion sort: few operations, stable
		for j := i; j > 0 && out[j].Start.Before(out[j-1].Start); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// complete applies a finished operation to its resource (which may be gone
// already, e.g. deleted with its resource group).
func (e *Emulator) complete(o *opRec) {
	defer e.opNodes(o) // node pools' nodes follow what the operation did
	s := e.st
	if o.Delete && !o.Fail {
		switch o.Kind {
		case kindGroup:
			e.removeGroup(o.Target)
		case kindCluster:
			e.removeCluster(o.Target)
		case kindPool:
			delete(s.Pools, o.Target)
		case kindVNet:
			e.removeVNet(o.Target)
		case kindSubnet:
			delete(s.Subnets, o.Target)
		case kindPIP:
			delete(s.PIPs, o.Target)
		case kindNAT:
			delete(s.NATs, o.Target)
		}
		return
	}
	st := stSucceeded
	if o.Fail {
		st = stFailed
	}
	switch o.Kind {
	case kindGroup:
		if g, ok := s.Groups[o.Target]; ok {
			g.V.Properties.ProvisioningState = ptr(stSucceeded) // a failed delete leaves the group as it was
		}
	case kindCluster:
		if c, ok := s.Clusters[o.Target]; ok {
			e.finishCluster(c, o, st)
		}
	case kindPool:
		if p, ok := s.Pools[o.Target]; ok {
			finishPool(p, o, st)
		}
	case kindVNet:
		if v, ok := s.VNets[o.Target]; ok {
			v.V.Properties.ProvisioningState = netState(st)
			for _, sn := range s.Subnets {
				if sn.VNet == o.Target && deref(sn.V.Properties.ProvisioningState) != "Deleting" {
					sn.V.Properties.ProvisioningState = netState(st)
				}
			}
		}
	case kindSubnet:
		if sn, ok := s.Subnets[o.Target]; ok {
			sn.V.Properties.ProvisioningState = netState(st)
		}
	case kindPIP:
		if p, ok := s.PIPs[o.Target]; ok {
			p.V.Properties.ProvisioningState = netState(st)
		}
	case kindNAT:
		if n, ok := s.NATs[o.Target]; ok {
			n.V.Properties.ProvisioningState = netState(st)
		}
	}
}

// removeGroup deletes a resource group and everything in it, as ARM does.
func (e *Emulator) removeGroup(gk string) {
	s := e.st
	for k, c := range s.Clusters {
		if c.Group == gk {
			e.removeCluster(k)
		}
	}
	for k, v := range s.VNets {
		if v.Group == gk {
			e.removeVNet(k)
		}
	}
	for k, p := range s.PIPs {
		if p.Group == gk {
			delete(s.PIPs, k)
		}
	}
	for k, n := range s.NATs {
		if n.Group == gk {
			delete(s.NATs, k)
		}
	}
	delete(s.Groups, gk)
}

// removeCluster deletes a cluster, its agent pools and its node resource
// group.
func (e *Emulator) removeCluster(ck string) {
	s := e.st
	for k, p := range s.Pools {
		if p.Cluster == ck {
			delete(s.Pools, k)
		}
	}
	if c, ok := s.Clusters[ck]; ok {
		e.removeKube(c) // the API server goes with the cluster, and its data too
	}
	delete(s.Clusters, ck)
	for k, g := range s.Groups {
		if g.Cluster == ck {
			e.removeGroup(k)
		}
	}
}

func (e *Emulator) removeVNet(vk string) {
	for k, sn := range e.st.Subnets {
		if sn.VNet == vk {
			delete(e.st.Subnets, k)
		}
	}
	delete(e.st.VNets, vk)
}
