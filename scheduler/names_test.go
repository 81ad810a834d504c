package scheduler

import "testing"

func TestOperationNamesRoundTrip(t *testing.T) {
	for _, instance := range []string{"", "main", "a/b/c", "x/operations"} {
		name := operationName(instance, "abc123")
		if id, ok := operationIDFromName(name); !ok || id != "abc123" {
			t.Errorf("operationIDFromName(%q) = %q, %v", name, id, ok)
		}
		for _, s := range []OutputStream{Stdout, Stderr} {
			sn := streamName(instance, "abc123", s)
			if id, got, ok := parseStreamName(sn); !ok || id != "abc123" || got != s {
				t.Errorf("parseStreamName(%q) = %q, %v, %v", sn, id, got, ok)
			}
		}
	}
	for _, bad := range []string{"", "abc", "operations/", "main/blobs/abc", "main/operation/abc"} {
		if id, ok := operationIDFromName(bad); ok {
			t.Errorf("operationIDFromName(%q) accepted: %q", bad, id)
		}
	}
	for _, bad := range []string{"", "main/kiln-logs/abc/stdin", "main/kiln-logs//stdout", "main/blobs/abc/stdout", "kiln-logs/stdout"} {
		if _, _, ok := parseStreamName(bad); ok {
			t.Errorf("parseStreamName(%q) accepted", bad)
		}
	}
}

func TestLeaseIDsCarryTheirOperation(t *testing.T) {
	id, ok := LeaseOperationID(LeaseID("op1", "tok"))
	if !ok || id != "op1" {
		t.Errorf("LeaseOperationID = %q, %v", id, ok)
	}
	for _, bad := range []string{"", "op1", "/tok", "op1/"} {
		if _, ok := LeaseOperationID(bad); ok {
			t.Errorf("LeaseOperationID(%q) accepted", bad)
		}
	}
}
