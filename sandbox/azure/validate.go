package azure

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Validation ARM itself does before a request reaches a resource
// provider: subscription ids, locations and tags, with ARM's codes.

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkSubscription refuses a subscription id that is not a GUID. Every
// GUID names a subscription of the sandbox's tenant.
func checkSubscription(sub string) *armErr {
	if !guidRE.MatchString(sub) {
		return errf(http.StatusBadRequest, "InvalidSubscriptionId", "The provided subscription identifier '%s' is malformed or invalid.", sub)
	}
	return nil
}

// azureLocations are Azure's public-cloud regions open to every
// subscription (name → display name); the restricted pairs (germanynorth,
// norwaywest, …) are left out, as ARM refuses them to most subscriptions.
var azureLocations = map[string]string{
	"australiacentral": "Australia Central", "australiaeast": "Australia East", "australiasoutheast": "Australia Southeast",
	"austriaeast": "Austria East", "belgiumcentral": "Belgium Central", "brazilsouth": "Brazil South",
	"canadacentral": "Canada Central", "canadaeast": "Canada East", "centralindia": "Central India",
	"centralus": "Central US", "chilecentral": "Chile Central", "eastasia": "East Asia", "eastus": "East US",
	"eastus2": "East US 2", "francecentral": "France Central", "germanywestcentral": "Germany West Central",
	"indonesiacentral": "Indonesia Central", "israelcentral": "Israel Central", "italynorth": "Italy North",
	"japaneast": "Japan East", "japanwest": "Japan West", "koreacentral": "Korea Central", "koreasouth": "Korea South",
	"malaysiawest": "Malaysia West", "mexicocentral": "Mexico Central", "newzealandnorth": "New Zealand North",
	"northcentralus": "North Central US", "northeurope": "North Europe", "norwayeast": "Norway East",
	"polandcentral": "Poland Central", "qatarcentral": "Qatar Central", "southafricanorth": "South Africa North",
	"southcentralus": "South Central US", "southeastasia": "Southeast Asia", "southindia": "South India",
	"spaincentral": "Spain Central", "swedencentral": "Sweden Central", "switzerlandnorth": "Switzerland North",
	"uaenorth": "UAE North", "uksouth": "UK South", "ukwest": "UK West", "westcentralus": "West Central US",
	"westeurope": "West Europe", "westindia": "West India", "westus": "West US", "westus2": "West US 2", "westus3": "West US 3",
}

// locationNames lists the locations, sorted.
func locationNames() []string {
	out := make([]string, 0, len(azureLocations))
	for n := range azureLocations {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// checkLocation refuses a location ARM does not offer: for a resource
// group LocationNotAvailableForResourceGroup, for a provider's type
// (typ "Microsoft.Network/virtualNetworks") LocationNotAvailableForResourceType.
// loc is normalized ("East US" → "eastus").
func checkLocation(loc, typ string) *armErr {
	if _, ok := azureLocations[loc]; ok {
		return nil
	}
	if typ == "" {
		return errf(http.StatusBadRequest, "LocationNotAvailableForResourceGroup", "The provided location '%s' is not available for resource group. List of available regions is '%s'.", loc, strings.Join(locationNames(), ","))
	}
	return errf(http.StatusBadRequest, "LocationNotAvailableForResourceType", "The provided location '%s' is not available for resource type '%s'. List of available regions for the resource type is '%s'.", loc, typ, strings.Join(locationNames(), ","))
}

// Tag limits ARM enforces on every resource and resource group.
const (
	maxTags        = 50
	maxTagNameLen  = 512
	maxTagValueLen = 256
)

// checkTags applies ARM's tag rules: at most 50 tags (InvalidTags), names
// of 1–512 characters (InvalidTagName) without <, >, %, &, \, ?, / or
// control characters (InvalidTagNameCharacters), values of at most 256
// characters (InvalidTagValueLength).
func checkTags(tags map[string]*string) *armErr {
	if len(tags) > maxTags {
		return errf(http.StatusBadRequest, "InvalidTags", "Too many tags specified. Requested tag count - '%d'. Maximum number of tags allowed - '%d'.", len(tags), maxTags)
	}
	names := make([]string, 0, len(tags))
	for n := range tags {
		names = append(names, n)
	}
	sort.Strings(names)
	var badChars, tooLong, longValues []string
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			return errf(http.StatusBadRequest, "InvalidTagName", "The tag name must be non-null, non-empty and non-whitespace only. Please provide an actual value.")
		}
		if strings.ContainsAny(n, `<>%&\?/`) || strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			badChars = append(badChars, n)
		}
		if utf8.RuneCountInString(n) > maxTagNameLen {
			tooLong = append(tooLong, n)
		}
		if v := deref(tags[n]); utf8.RuneCountInString(v) > maxTagValueLen {
			longValues = append(longValues, v)
		}
	}
	switch {
	case len(badChars) > 0:
		return errf(http.StatusBadRequest, "InvalidTagNameCharacters", "The tag names '%s' have reserved characters '<,>,%%,&,\\,?,/' or control characters.", strings.Join(badChars, ","))
	case len(tooLong) > 0:
		return errf(http.StatusBadRequest, "InvalidTagName", "Tag key too large. Following tag name '%s' exceeded the maximum length. Maximum allowed length for tag name - '%d' characters.", strings.Join(tooLong, ","), maxTagNameLen)
	case len(longValues) > 0:
		return errf(http.StatusBadRequest, "InvalidTagValueLength", "Tag value too large. Following tag value '%s' exceeded the maximum length. Maximum allowed length for tag value - '%d' characters.", strings.Join(longValues, ","), maxTagValueLen)
	}
	return nil
}

// checkEnvelope is ARM's check of a PUT body's location and tags, before
// the resource provider sees it. typ is "" for a resource group.
func checkEnvelope(loc string, tags map[string]*string, typ string) *armErr {
	if loc != "" {
		if aerr := checkLocation(loc, typ); aerr != nil {
			return aerr
		}
	}
	return checkTags(tags)
}
