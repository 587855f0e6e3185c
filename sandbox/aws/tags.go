package aws

import (
	"strings"
	"unicode/utf8"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AWS's tag limits, the same for EC2, EKS and IAM.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
	reservedPrefix = "aws:"
)

// checkTags refuses tags AWS refuses when op ("ec2:CreateTags",
// "eks:TagResource", "iam:TagRole", ...) adds them to a resource that has
// existing ones: keys with the reserved aws: prefix (any case), keys of
// 1–128 and values of up to 256 characters, at most 50 tags (AWS's own aws:
// tags do not count). Each service answers with its own code.
func checkTags(op string, existing, adding map[string]string) *apiErr {
	svc, name, _ := strings.Cut(op, ":")
	bad := func(ec2Code, iamCode string, iamStatus int, format string, args ...any) *apiErr {
		switch svc {
		case "ec2":
			return errf(400, ec2Code, format, args...)
		case "iam":
			return errf(iamStatus, iamCode, format, args...)
		}
		if name == "TagResource" || name == "UntagResource" {
			return errf(400, "BadRequestException", format, args...)
		}
		return badParam(format, args...)
	}
	for _, k := range sortedKeys(adding) {
		switch n := utf8.RuneCountInString(k); {
		case strings.HasPrefix(strings.ToLower(k), reservedPrefix):
			return bad("InvalidParameterValue", "InvalidInput", 400, "Value ( %s ) for parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use", k)
		case n == 0 || n > maxTagKeyLen:
			return bad("InvalidParameterValue", "ValidationError", 400, "1 validation error detected: Value '%s' at 'tags.key' failed to satisfy constraint: Member must have length between 1 and %d", k, maxTagKeyLen)
		case utf8.RuneCountInString(adding[k]) > maxTagValueLen:
			return bad("InvalidParameterValue", "ValidationError", 400, "1 validation error detected: Value at 'tags.%s.value' failed to satisfy constraint: Member must have length less than or equal to %d", k, maxTagValueLen)
		}
	}
	keys := map[string]bool{}
	for k := range existing {
		if !strings.HasPrefix(strings.ToLower(k), reservedPrefix) {
			keys[k] = true
		}
	}
	for k := range adding {
		keys[k] = true
	}
	if len(keys) > maxTags {
		return bad("TagLimitExceeded", "LimitExceeded", 409, "The maximum number of tags for a resource has been reached: a resource can have at most %d tags (this request would make %d).", maxTags, len(keys))
	}
	return nil
}

// checkReservedKeys refuses removing AWS's own aws: tags.
func checkReservedKeys(op string, keys []string) *apiErr {
	for _, k := range keys {
		if strings.HasPrefix(strings.ToLower(k), reservedPrefix) {
			return checkTags(op, nil, map[string]string{k: ""})
		}
	}
	return nil
}

func ec2TagMap(tags []ec2types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[deref(t.Key)] = deref(t.Value)
	}
	return m
}

func iamTagMap(tags []iamtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[deref(t.Key)] = deref(t.Value)
	}
	return m
}

func objectMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "regionctl-sandbox"}}
}
