package nats

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/corebridge/corebridge/config"
)

// Subject templates: every subject the bridge uses. Each %s stands for
// exactly one token, filled in by [Subjects.Build]; a configured prefix
// goes in front of all of them. Change them only together with DESIGN.md
// §3, the README and the tests: other services depend on them.
const (
	// SubjectStoreGet opens or creates a core in a store; %s is the store
	// name. Answered by that store's bridge.
	SubjectStoreGet = "store.%s.get"
	// SubjectStoreList lists a store's cores; %s is the store name.
	SubjectStoreList = "store.%s.list"
	// SubjectCoreAppend appends to a core; %s is the core key in lowercase
	// hex. Answered only by the bridge holding the core's secret key.
	SubjectCoreAppend = "core.%s.append"
	// SubjectCoreBlock reads a block; answered by any bridge that has the
	// core, in a queue group.
	SubjectCoreBlock = "core.%s.block"
	// SubjectCoreInfo describes a core; answered by any bridge that has the
	// core, in a queue group.
	SubjectCoreInfo = "core.%s.info"
	// SubjectCoreAppended carries one message per appended block, published
	// by the bridge that appended it.
	SubjectCoreAppended = "core.%s.appended"
	// SubjectReplication carries a core's signed append batches in the
	// replication stream; %s is the core's discovery key in lowercase hex,
	// so the core key, the read capability, never appears in a subject.
	SubjectReplication = "hc.repl.%s"
)

// DefaultStream is the name of the one JetStream stream that holds every
// replicated core, unless the configuration names another.
const DefaultStream = config.DefaultStream

// templates lists every template Parse recognises, and whether its token
// is a key.
var templates = []struct {
	t     string
	isKey bool
}{
	{SubjectStoreGet, false},
	{SubjectStoreList, false},
	{SubjectCoreAppend, true},
	{SubjectCoreBlock, true},
	{SubjectCoreInfo, true},
	{SubjectCoreAppended, true},
	{SubjectReplication, true},
}

// Subjects builds and parses subjects under one prefix. The zero value
// has no prefix and is ready to use. It is a small immutable value, safe
// to copy and to use from many goroutines.
type Subjects struct {
	prefix string // with its trailing dot, or ""
}

// NewSubjects returns the subjects under prefix: "" for none, otherwise
// one or more tokens joined by dots, like "acme.prod".
func NewSubjects(prefix string) (Subjects, error) {
	if prefix == "" {
		return Subjects{}, nil
	}
	for _, tok := range strings.Split(prefix, ".") {
		if err := checkToken(tok); err != nil {
			return Subjects{}, fmt.Errorf("subject prefix %q: %w", prefix, err)
		}
	}
	return Subjects{prefix: prefix + "."}, nil
}

// Prefix returns the prefix as configured, without a trailing dot.
func (s Subjects) Prefix() string { return strings.TrimSuffix(s.prefix, ".") }

// checkToken reports why tok cannot be one token of a subject.
func checkToken(tok string) error {
	if tok == "" {
		return fmt.Errorf("empty subject token")
	}
	if !utf8.ValidString(tok) {
		return fmt.Errorf("subject token %q is not valid UTF-8", tok)
	}
	for _, r := range tok {
		switch {
		case r == '.' || r == '*' || r == '>':
			return fmt.Errorf("subject token %q contains %q", tok, r)
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return fmt.Errorf("subject token %q contains white space or a control character", tok)
		}
	}
	return nil
}

// Build fills template's placeholders with tokens, in order, and puts the
// prefix in front. Each token must be non-empty and free of '.', '*', '>'
// and white space, so a value from a client can never widen a subject into
// a wildcard or shift its tokens.
func (s Subjects) Build(template string, tokens ...string) (string, error) {
	parts := strings.Split(template, ".")
	n := 0
	for i, p := range parts {
		if p != "%s" {
			if err := checkToken(p); err != nil {
				return "", fmt.Errorf("subject template %q: %w", template, err)
			}
			continue
		}
		if n >= len(tokens) {
			return "", fmt.Errorf("subject template %q needs more than %d tokens", template, len(tokens))
		}
		if err := checkToken(tokens[n]); err != nil {
			return "", fmt.Errorf("subject %q: %w", template, err)
		}
		parts[i] = tokens[n]
		n++
	}
	if n != len(tokens) {
		return "", fmt.Errorf("subject template %q takes %d tokens, not %d", template, n, len(tokens))
	}
	return s.prefix + strings.Join(parts, "."), nil
}

// Pattern returns template with every placeholder a '*' wildcard, under
// the prefix: Pattern(SubjectCoreAppended) is "core.*.appended".
func (s Subjects) Pattern(template string) string {
	return s.prefix + strings.ReplaceAll(template, "%s", "*")
}

// mustBuild is Build for tokens that cannot be invalid (hex keys).
func (s Subjects) mustBuild(template, token string) string {
	subj, err := s.Build(template, token)
	if err != nil {
		panic("nats: " + err.Error())
	}
	return subj
}

// StoreGet is the store.<store>.get subject.
func (s Subjects) StoreGet(store string) (string, error) { return s.Build(SubjectStoreGet, store) }

// StoreList is the store.<store>.list subject.
func (s Subjects) StoreList(store string) (string, error) { return s.Build(SubjectStoreList, store) }

// CoreAppend is the core.<key>.append subject.
func (s Subjects) CoreAppend(key [32]byte) string { return s.mustBuild(SubjectCoreAppend, KeyHex(key)) }

// CoreBlock is the core.<key>.block subject.
func (s Subjects) CoreBlock(key [32]byte) string { return s.mustBuild(SubjectCoreBlock, KeyHex(key)) }

// CoreInfo is the core.<key>.info subject.
func (s Subjects) CoreInfo(key [32]byte) string { return s.mustBuild(SubjectCoreInfo, KeyHex(key)) }

// CoreAppended is the core.<key>.appended subject.
func (s Subjects) CoreAppended(key [32]byte) string {
	return s.mustBuild(SubjectCoreAppended, KeyHex(key))
}

// Replication is the hc.repl.<discoveryKey> subject of one core in the
// replication stream.
func (s Subjects) Replication(discoveryKey [32]byte) string {
	return s.mustBuild(SubjectReplication, KeyHex(discoveryKey))
}

// ReplicationFilter is the replication stream's subject filter, which
// covers every core: hc.repl.> under the prefix.
func (s Subjects) ReplicationFilter() string {
	return s.prefix + strings.TrimSuffix(SubjectReplication, "%s") + ">"
}

// Subject is a received subject taken apart by [Subjects.Parse].
type Subject struct {
	// Template is the Subject* constant the subject matches; it says which
	// verb was asked for.
	Template string
	// Token is what stands in the template's placeholder: a store name or
	// a key in lowercase hex.
	Token string
	// Key is Token decoded, for the core and replication subjects.
	Key [32]byte
}

// Parse takes a subject the bridge received apart. It fails for a subject
// outside the prefix, one that matches no template, and a core or
// replication subject whose key is not 64 lowercase hex characters.
func (s Subjects) Parse(subject string) (Subject, error) {
	rest, ok := strings.CutPrefix(subject, s.prefix)
	if !ok {
		return Subject{}, fmt.Errorf("subject %q is not under prefix %q", subject, s.Prefix())
	}
	got := strings.Split(rest, ".")
	for _, tpl := range templates {
		want := strings.Split(tpl.t, ".")
		if len(want) != len(got) {
			continue
		}
		token, ok := "", true
		for i, w := range want {
			switch {
			case w == "%s":
				token = got[i]
			case w != got[i]:
				ok = false
			}
		}
		if !ok {
			continue
		}
		if err := checkToken(token); err != nil {
			return Subject{}, fmt.Errorf("subject %q: %w", subject, err)
		}
		out := Subject{Template: tpl.t, Token: token}
		if tpl.isKey {
			k, err := parseKeyToken(token)
			if err != nil {
				return Subject{}, fmt.Errorf("subject %q: %w", subject, err)
			}
			out.Key = k
		}
		return out, nil
	}
	return Subject{}, fmt.Errorf("subject %q is not a corebridge subject", subject)
}
