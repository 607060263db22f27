package nats

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSubjectsContract(t *testing.T) {
	key := mustHexKey(t, idVectors[0].hex)
	dk := mustHexKey(t, "807fdd9260a7f1cd1c44d2a95304e37e40a48d7152517499e27f5a3fb829f18e")
	h := idVectors[0].hex
	for _, tt := range []struct {
		prefix string
		pfx    string // what the prefix adds in front
	}{{"", ""}, {"acme", "acme."}, {"acme.prod", "acme.prod."}} {
		s, err := NewSubjects(tt.prefix)
		if err != nil {
			t.Fatal(err)
		}
		if s.Prefix() != tt.prefix {
			t.Errorf("Prefix() = %q, want %q", s.Prefix(), tt.prefix)
		}
		get, err := s.StoreGet("default")
		if err != nil {
			t.Fatal(err)
		}
		list, err := s.StoreList("default")
		if err != nil {
			t.Fatal(err)
		}
		got := []string{
			get, list,
			s.CoreAppend(key), s.CoreBlock(key), s.CoreInfo(key), s.CoreAppended(key),
			s.Replication(dk), s.ReplicationFilter(),
			s.Pattern(SubjectCoreAppended), s.Pattern(SubjectStoreGet),
		}
		p := tt.pfx
		want := []string{
			p + "store.default.get", p + "store.default.list",
			p + "core." + h + ".append", p + "core." + h + ".block",
			p + "core." + h + ".info", p + "core." + h + ".appended",
			p + "hc.repl.807fdd9260a7f1cd1c44d2a95304e37e40a48d7152517499e27f5a3fb829f18e",
			p + "hc.repl.>",
			p + "core.*.appended", p + "store.*.get",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("prefix %q: subjects differ from DESIGN.md §3 (-want +got):\n%s", tt.prefix, diff)
		}
	}
	if DefaultStream != "COREBRIDGE" {
		t.Errorf("DefaultStream = %q, want COREBRIDGE", DefaultStream)
	}
}

func TestNewSubjectsRejects(t *testing.T) {
	for _, p := range []string{".", "a.", ".a", "a..b", "a.*", "a.>", "a b", "a\tb", "\x00"} {
		if _, err := NewSubjects(p); err == nil {
			t.Errorf("NewSubjects(%q) accepted a bad prefix", p)
		}
	}
}

func TestBuildRejectsBadTokens(t *testing.T) {
	var s Subjects
	for _, tok := range []string{"", "a.b", "*", ">", "a*", "x>", "a b", "a\nb", "a\tb", "\u00a0", "a\x7f", "\xff"} {
		if got, err := s.Build(SubjectStoreGet, tok); err == nil {
			t.Errorf("Build(store.%%s.get, %q) = %q, want an error", tok, got)
		}
		if _, err := s.StoreList(tok); err == nil {
			t.Errorf("StoreList(%q) accepted a bad token", tok)
		}
	}
	for _, tt := range []struct {
		tpl    string
		tokens []string
	}{
		{SubjectStoreGet, nil},
		{SubjectStoreGet, []string{"a", "b"}},
		{"a..%s", []string{"x"}},
		{"a.*.%s", []string{"x"}},
	} {
		if got, err := s.Build(tt.tpl, tt.tokens...); err == nil {
			t.Errorf("Build(%q, %q) = %q, want an error", tt.tpl, tt.tokens, got)
		}
	}
	if got, err := s.Build("a.%s.b.%s", "x", "y"); err != nil || got != "a.x.b.y" {
		t.Errorf("Build with two tokens = %q, %v", got, err)
	}
}

func TestParse(t *testing.T) {
	h := idVectors[0].hex
	key := mustHexKey(t, h)
	s, err := NewSubjects("acme")
	if err != nil {
		t.Fatal(err)
	}
	good := []struct {
		subject string
		want    Subject
	}{
		{"acme.store.default.get", Subject{Template: SubjectStoreGet, Token: "default"}},
		{"acme.store.x-1.list", Subject{Template: SubjectStoreList, Token: "x-1"}},
		{"acme.core." + h + ".append", Subject{Template: SubjectCoreAppend, Token: h, Key: key}},
		{"acme.core." + h + ".block", Subject{Template: SubjectCoreBlock, Token: h, Key: key}},
		{"acme.core." + h + ".info", Subject{Template: SubjectCoreInfo, Token: h, Key: key}},
		{"acme.core." + h + ".appended", Subject{Template: SubjectCoreAppended, Token: h, Key: key}},
		{"acme.hc.repl." + h, Subject{Template: SubjectReplication, Token: h, Key: key}},
	}
	for _, tt := range good {
		got, err := s.Parse(tt.subject)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.subject, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.subject, diff)
		}
	}
	bad := []struct{ subject, want string }{
		{"store.default.get", `is not under prefix "acme"`},
		{"acmestore.default.get", `is not under prefix "acme"`},
		{"acme.store.default.put", "is not a corebridge subject"},
		{"acme.store.get", "is not a corebridge subject"},
		{"acme.store.a.b.get", "is not a corebridge subject"},
		{"acme.store..get", "empty subject token"},
		{"acme.store.*.get", `contains '*'`},
		{"acme.core." + strings.ToUpper(h) + ".info", "is not 64 lowercase hex characters"},
		{"acme.core." + idVectors[0].z32 + ".info", "is not 64 lowercase hex characters"},
		{"acme.core.abc.block", "is not 64 lowercase hex characters"},
		{"acme.hc.repl.>", `contains '>'`},
		{"", "is not under prefix"},
	}
	for _, tt := range bad {
		got, err := s.Parse(tt.subject)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %+v, %v; want error containing %q", tt.subject, got, err, tt.want)
		}
	}
}

// FuzzSubjects checks that Build never makes a subject that parses back
// differently, and that Parse never accepts what Build would not make.
func FuzzSubjects(f *testing.F) {
	f.Add("", "default", idVectors[0].hex)
	f.Add("acme.prod", "store-1", "pear")
	f.Add("a", "a.b", "*")
	f.Fuzz(func(t *testing.T, prefix, token, subject string) {
		s, err := NewSubjects(prefix)
		if err != nil {
			return
		}
		for _, tpl := range templates {
			subj, err := s.Build(tpl.t, token)
			if err != nil {
				if checkToken(token) == nil {
					t.Fatalf("Build(%q, %q) rejected a valid token: %v", tpl.t, token, err)
				}
				continue
			}
			if strings.ContainsAny(subj[len(s.prefix):], "*> \t\r\n") ||
				strings.Count(subj, ".") != strings.Count(s.prefix+tpl.t, ".") {
				t.Fatalf("Build(%q, %q) = %q: the token changed the subject's shape", tpl.t, token, subj)
			}
			got, err := s.Parse(subj)
			if tpl.isKey {
				if _, kerr := parseKeyToken(token); kerr != nil {
					if err == nil {
						t.Fatalf("Parse(%q) accepted key token %q", subj, token)
					}
					continue
				}
			}
			if err != nil || got.Template != tpl.t || got.Token != token {
				t.Fatalf("Parse(Build(%q, %q) = %q) = %+v, %v", tpl.t, token, subj, got, err)
			}
		}
		// Whatever Parse accepts, Build makes again.
		got, err := s.Parse(subject)
		if err != nil {
			return
		}
		again, err := s.Build(got.Template, got.Token)
		if err != nil || again != subject {
			t.Fatalf("Parse(%q) = %+v, but Build gives %q, %v", subject, got, again, err)
		}
	})
}
