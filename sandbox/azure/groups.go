package azure

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

var groupNameRE = regexp.MustCompile(`^[-\w._()]{1,90}$`)

func groupID(sub, name string) string { return "/subscriptions/" + sub + "/resourceGroups/" + name }

// decode reads a request body into an SDK model.
func decode(body []byte, v any) *armErr {
	if len(body) == 0 {
		return errf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: the body is empty.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: %v", err)
	}
	return nil
}

// groupFor finds the resource group a request addresses; forWrite refuses a
// group that is being deleted.
func (e *Emulator) groupFor(rt route, forWrite bool) (*groupRec, string, *armErr) {
	gk := key(groupID(rt.sub, rt.group))
	g, ok := e.st.Groups[gk]
	if !ok {
		return nil, gk, errf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rt.group)
	}
	if forWrite && deref(g.V.Properties.ProvisioningState) == stDeleting {
		return nil, gk, errf(http.StatusConflict, "ResourceGroupBeingDeleted", "The resource group '%s' is in deprovisioning state and cannot perform this operation.", deref(g.V.Name))
	}
	return g, gk, nil
}

func (e *Emulator) serveGroup(w http.ResponseWriter, r *http.Request, rt route, c emu.Call) (bool, *armErr) {
	s := e.st
	if rt.op == "resourceGroups.list" {
		var v []*armresources.ResourceGroup
		for _, g := range allOf(s.Groups, rt.sub) {
			v = append(v, ptr(g.V))
		}
		return false, writePage(w, r, v, func(v []*armresources.ResourceGroup, next *string) any {
			return armresources.ResourceGroupListResult{Value: v, NextLink: next}
		})
	}
	gk := key(groupID(rt.sub, rt.group))
	g, exists := s.Groups[gk]
	switch rt.op {
	case "resourceGroups.checkExistence":
		if exists {
			w.WriteHeader(http.StatusNoContent)
		} else {
			w.WriteHeader(http.StatusNotFound)
		}
		return false, nil
	case "resourceGroups.get":
		if !exists {
			return false, errf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rt.group)
		}
		writeJSON(w, http.StatusOK, g.V)
		return false, nil
	case "resourceGroups.createOrUpdate":
		var in armresources.ResourceGroup
		if aerr := decode(c.Body, &in); aerr != nil {
			return false, aerr
		}
		if !groupNameRE.MatchString(rt.group) || strings.HasSuffix(rt.group, ".") {
			return false, badParam("Resource group name '%s' is invalid: use up to 90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period.", rt.group)
		}
		loc := normLocation(deref(in.Location))
		if loc == "" {
			return false, errf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
		}
		if exists {
			if deref(g.V.Properties.ProvisioningState) == stDeleting {
				return false, errf(http.StatusConflict, "ResourceGroupBeingDeleted", "The resource group '%s' is in deprovisioning state and cannot perform this operation.", deref(g.V.Name))
			}
			if loc != deref(g.V.Location) {
				return false, errf(http.StatusConflict, "InvalidResourceGroupLocation", "Invalid resource group location '%s'. The Resource group already exists in location '%s'.", loc, deref(g.V.Location))
			}
			g.V.Tags = in.Tags
			if in.ManagedBy != nil {
				g.V.ManagedBy = in.ManagedBy
			}
			writeJSON(w, http.StatusOK, g.V)
			return true, nil
		}
		g = &groupRec{V: armresources.ResourceGroup{
			ID: ptr(groupID(rt.sub, rt.group)), Name: ptr(rt.group), Type: ptr("Microsoft.Resources/resourceGroups"),
			Location: ptr(loc), Tags: in.Tags, ManagedBy: in.ManagedBy,
			Properties: &armresources.ResourceGroupProperties{ProvisioningState: ptr(stSucceeded)},
		}}
		s.Groups[gk] = g
		writeJSON(w, http.StatusCreated, g.V)
		return true, nil
	case "resourceGroups.delete":
		if !exists {
			return false, errf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rt.group)
		}
		if o := e.pending(gk); o != nil && o.Delete {
			e.writeLRO(w, r, rt, deref(g.V.Location), o, http.StatusAccepted, nil)
			return false, nil
		}
		g.V.Properties.ProvisioningState = ptr(stDeleting)
		o := e.startOp("azure:resourceGroups.delete", kindGroup, gk, true, c.Fail)
		e.writeLRO(w, r, rt, deref(g.V.Location), o, http.StatusAccepted, nil)
		return true, nil
	}
	return false, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method %s is not allowed.", r.Method)
}

// pending returns the operation in progress on a resource, if any.
func (e *Emulator) pending(target string) *opRec {
	for _, o := range e.st.Ops {
		if o.Target == target && o.Status == opInProgress {
			return o
		}
	}
	return nil
}

func armresourcesGroup(sub, name, loc, managedBy string) armresources.ResourceGroup {
	return armresources.ResourceGroup{ID: ptr(groupID(sub, name)), Name: ptr(name), Type: ptr("Microsoft.Resources/resourceGroups"),
		Location: ptr(loc), ManagedBy: ptr(managedBy),
		Properties: &armresources.ResourceGroupProperties{ProvisioningState: ptr(stSucceeded)}}
}
