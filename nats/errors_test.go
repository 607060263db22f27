package nats

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

var errNoCore = errors.New("no such core")

func TestClassify(t *testing.T) {
	codes := append(DefaultErrorCodes(), ErrorCode{errNoCore, CodeNotFound})
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantMsg  string
	}{
		{"nil", nil, 0, ""},
		{"typed", TooLarge("value is %d bytes, over the limit of %d", 5, 4), 413, "value is 5 bytes, over the limit of 4"},
		{"typed wrapped", fmt.Errorf("append: %w", Conflict("core is read-only")), 409, "core is read-only"},
		{"sentinel", fmt.Errorf("core %s: %w", "ab", errNoCore), 404, "core ab: no such core"},
		{"context", fmt.Errorf("commit: %w", context.DeadlineExceeded), 503, "commit: context deadline exceeded"},
		{"nats timeout", natsgo.ErrTimeout, 503, "nats: timeout"},
		{"max payload", natsgo.ErrMaxPayload, 413, "nats: maximum payload exceeded"},
		{"unknown", errors.New("disk on fire"), 500, "disk on fire"},
		{"typed beats table", NotFound("block 7 of %w", errNoCore), 404, "block 7 of no such core"},
		{"bad request", BadRequest("index %q is not a number", "x"), 400, `index "x" is not a number`},
		{"unavailable", Unavailable("storage plugin restarting"), 503, "storage plugin restarting"},
		{"internal", Internal("tree mismatch"), 500, "tree mismatch"},
	}
	for _, tt := range tests {
		code, msg := Classify(tt.err, codes)
		if code != tt.wantCode || msg != tt.wantMsg {
			t.Errorf("%s: Classify = %d %q, want %d %q", tt.name, code, msg, tt.wantCode, tt.wantMsg)
		}
	}
	// Without the service's entry the sentinel is a 500.
	if code, _ := Classify(errNoCore, DefaultErrorCodes()); code != CodeInternal {
		t.Errorf("unmapped sentinel gave %d, want 500", code)
	}
}

func TestErrorfKeepsCauses(t *testing.T) {
	e := Errorf(CodeNotFound, "core %s: %w", "ab", errNoCore)
	if !errors.Is(e, errNoCore) {
		t.Error("errors.Is does not see the cause through *Error")
	}
	two := Errorf(CodeInternal, "%w and %w", errNoCore, fs.ErrNotExist)
	if !errors.Is(two, errNoCore) || !errors.Is(two, fs.ErrNotExist) {
		t.Error("errors.Is does not see both causes through *Error")
	}
	if plain := BadRequest("no cause"); plain.Unwrap() != nil {
		t.Errorf("Unwrap of an error without %%w = %v, want nil", plain.Unwrap())
	}
}

// TestRespondError answers through a real micro service and reads the
// reply as a client would.
func TestRespondError(t *testing.T) {
	c := connectEmbedded(t, testConfig(t))
	codes := append(DefaultErrorCodes(), ErrorCode{errNoCore, CodeNotFound})
	replies := map[string]error{
		"notfound": fmt.Errorf("core ab: %w", errNoCore),
		"toolarge": TooLarge("value is 2000000 bytes;\nthe limit is 1048576"),
		"plain":    errors.New("boom"),
		"nil":      nil,
	}
	svc, err := micro.AddService(c.NATS(), micro.Config{Name: "errtest", Version: "0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	for name, rerr := range replies {
		err := svc.AddEndpoint(name, micro.HandlerFunc(func(req micro.Request) {
			if err := RespondError(req, rerr, codes); err != nil {
				t.Errorf("RespondError: %v", err)
			}
		}), micro.WithEndpointSubject("errtest."+name))
		if err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]*Error{
		"notfound": {Code: 404, Message: "core ab: no such core"},
		"toolarge": {Code: 413, Message: "value is 2000000 bytes; the limit is 1048576"},
		"plain":    {Code: 500, Message: "boom"},
		"nil":      {Code: 500, Message: "internal error: a handler reported failure without an error"},
	}
	for name, w := range want {
		msg, err := c.NATS().Request("errtest."+name, nil, 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(w, ReplyError(msg)); diff != "" {
			t.Errorf("%s: reply error (-want +got):\n%s", name, diff)
		}
		if got := msg.Header.Get("Nats-Service-Error-Code"); got != fmt.Sprint(w.Code) {
			t.Errorf("%s: Nats-Service-Error-Code = %q, want %d", name, got, w.Code)
		}
	}
	if e := ReplyError(&natsgo.Msg{Data: []byte("ok")}); e != nil {
		t.Errorf("ReplyError of a plain reply = %v, want nil", e)
	}
}
