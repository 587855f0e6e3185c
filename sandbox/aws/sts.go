package aws

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// serveSTS answers STS (awsQuery): GetCallerIdentity says who signed the
// request, so `aws sts get-caller-identity` shows the sandbox's identity.
func (e *Emulator) serveSTS(w http.ResponseWriter, f form, caller principal, reqID string) bool {
	if op := f.get("Action"); op != "GetCallerIdentity" {
		writeQueryError(w, STSNamespace, reqID, errf(400, "InvalidAction", "Could not find operation %s for version 2011-06-15", op))
		return false
	}
	writeQueryResult(w, STSNamespace, "GetCallerIdentity", reqID, &sts.GetCallerIdentityOutput{
		Account: ptr(e.env.Account), Arn: ptr(caller.Arn), UserId: ptr(caller.UserID)})
	return false
}
