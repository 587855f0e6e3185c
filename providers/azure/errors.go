package azure

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/regionctl/regionctl/providers/kit"
)

// errorLine is the driver's kit.Options.Message: the text of an error that
// holds an ARM error, with the SDK's many-line rendering of it (request
// URL, a banner, RESPONSE, ERROR CODE, the indented JSON body) replaced by
// one line, armError's. "" for other errors.
func errorLine(err error) string {
	re := respErr(err)
	if re == nil {
		return ""
	}
	full, long := err.Error(), re.Error()
	if !strings.Contains(full, long) {
		return ""
	}
	return strings.Replace(full, long, armError(re), 1)
}

// armBody is the error body ARM (and its long-running operations) send.
type armBody struct {
	Error *armDetail `json:"error"`
}

type armDetail struct {
	Code           string          `json:"code"`
	Message        string          `json:"message"`
	Target         string          `json:"target"`
	Details        []armDetail     `json:"details"`
	InnerError     json.RawMessage `json:"innererror"`
	AdditionalInfo []struct {
		Type string          `json:"type"`
		Info json.RawMessage `json:"info"`
	} `json:"additionalInfo"`
}

// armError renders an ARM error on one line: the code, the message, the
// target, every detail (with its own target and details), inner error and
// additional info, then the status and the request it answered, e.g.
//
//	OperationNotAllowed: Operation is not allowed: another operation is in progress (target: agentPools/system) [HTTP 409, PUT https://management.azure.com/subscriptions/…/agentPools/system]
func armError(re *azcore.ResponseError) string {
	var b strings.Builder
	body := responseBody(re)
	var parsed armBody
	if json.Unmarshal(body, &parsed) == nil && parsed.Error != nil && (parsed.Error.Code != "" || parsed.Error.Message != "") {
		writeDetail(&b, *parsed.Error)
	} else {
		code := re.ErrorCode
		if code == "" {
			code = "error"
		}
		b.WriteString(code)
		if text := kit.OneLine(string(body)); text != "" {
			b.WriteString(": " + text)
		}
	}
	b.WriteString(" [HTTP ")
	b.WriteString(fmt.Sprint(re.StatusCode))
	if r := re.RawResponse; r != nil && r.Request != nil {
		fmt.Fprintf(&b, ", %s %s://%s%s", r.Request.Method, r.Request.URL.Scheme, r.Request.URL.Host, r.Request.URL.EscapedPath())
	}
	b.WriteString("]")
	return b.String()
}

func writeDetail(b *strings.Builder, d armDetail) {
	b.WriteString(d.Code)
	if d.Message != "" {
		if d.Code != "" {
			b.WriteString(": ")
		}
		b.WriteString(kit.OneLine(d.Message))
	}
	if d.Target != "" {
		b.WriteString(" (target: " + d.Target + ")")
	}
	if len(d.Details) > 0 {
		b.WriteString(" {details: ")
		for i, x := range d.Details {
			if i > 0 {
				b.WriteString("; ")
			}
			writeDetail(b, x)
		}
		b.WriteString("}")
	}
	if len(d.InnerError) > 0 && string(d.InnerError) != "null" {
		b.WriteString(" {inner error: " + kit.OneLine(string(d.InnerError)) + "}")
	}
	for _, ai := range d.AdditionalInfo {
		b.WriteString(" {" + ai.Type + ": " + kit.OneLine(string(ai.Info)) + "}")
	}
}

// responseBody is the body of the reply, which the SDK keeps for its error.
func responseBody(re *azcore.ResponseError) []byte {
	if re.RawResponse == nil {
		return nil
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil {
		return nil
	}
	return body
}
