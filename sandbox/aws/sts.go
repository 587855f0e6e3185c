package aws

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
	"github.com/regionctl/regionctl/sandbox/internal/wire"
)

// STSNamespace is the XML namespace of STS replies (awsQuery, like IAM).
const STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// STSVersion is the API version STS calls carry.
const STSVersion = "2011-06-15"

// SandboxUser is the IAM user the sandbox's static credentials act as.
const SandboxUser = "regionctl-sandbox"

// serveSTS answers sts:GetCallerIdentity, which the drivers use to learn
// which account their credentials act in: the sandbox's account, as the
// user its static credentials belong to.
func (e *Emulator) serveSTS(w http.ResponseWriter, c emu.Call, reqID string) bool {
	op := strings.TrimPrefix(c.Op, "sts:")
	if op != "GetCallerIdentity" {
		writeIAMError(w, reqID, errf(400, "InvalidAction", "Could not find operation %s for version %s", op, STSVersion))
		return false
	}
	out := &sts.GetCallerIdentityOutput{
		Account: ptr(e.env.Account),
		Arn:     ptr(fmt.Sprintf("arn:aws:iam::%s:user/%s", e.env.Account, SandboxUser)),
		UserId:  ptr("AIDASANDBOX" + strings.ToUpper(AccessKeyID)),
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="%s">`, op, STSNamespace)
	_, _ = w.Write(wire.MarshalQueryResult(op, out))
	fmt.Fprintf(w, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, reqID, op)
	return false
}
