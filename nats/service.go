package nats

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/corebridge/corebridge/core"
	"github.com/corebridge/corebridge/corestore"
	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/encodings"
)

// ServiceName is the nats.go/micro service name every bridge registers,
// so $SRV.PING, $SRV.INFO and $SRV.STATS (and `nats micro ls`) find it.
const ServiceName = "corebridge"

// UserDataEncoding is the header user-data key where a core keeps its
// value encoding.
const UserDataEncoding = "valueEncoding"

// DefaultEncoding is the value encoding of a core created without one.
const DefaultEncoding = "binary"

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Conn     *natsgo.Conn
	Store    *corestore.Store
	Name     string   // the store name in store.<name>.* subjects
	Subjects Subjects // subject templates under the configured prefix
	// Encoding returns the encoding a core's valueEncoding names, or an
	// error wrapping ErrUnknownEncoding.
	Encoding func(name string) (encodings.Encoding, error)
	// MaxValueSize is the largest value an append takes (413 over it).
	MaxValueSize int
	// Replication, when set, is told of every core the service serves, so
	// it can publish the ones this bridge writes and follow the others.
	Replication Follower
	Version     string
	Logger      *slog.Logger
}

// Follower is what the service tells of each core it serves.
type Follower interface {
	// Follow is called once for each core the service serves. It must not
	// block.
	Follow(ctx context.Context, c *core.Core) error
}

// ErrUnknownEncoding is returned for a valueEncoding no builtin or plugin
// provides.
var ErrUnknownEncoding = errors.New("unknown value encoding")

// Service answers the subject API of one bridge: the store endpoints on a
// micro service, and per-core subscriptions for append (only the owner
// subscribes, so a core nobody owns gets "no responders" at once), block
// and info (a queue group of every bridge holding the core).
type Service struct {
	o     ServiceOptions
	log   *slog.Logger
	svc   micro.Service
	codes []ErrorCode

	mu     sync.Mutex
	cores  map[core.Key]*served
	closed bool

	work   sync.WaitGroup // handlers and appenders in flight
	slots  chan struct{}  // bounds handler goroutines
	ctx    context.Context
	cancel context.CancelFunc // ends every request context at Stop
	// waits ends when Stop begins: requests waiting for a block that is not
	// there yet are answered 503 at once instead of holding up shutdown.
	waits     context.Context
	stopWaits context.CancelFunc

	// Per-core requests arrive on a few shared inboxes (see inbox.go).
	inboxes  []chan *natsgo.Msg
	routeMu  sync.RWMutex
	routes   map[string]route // by subscribed subject
	quit     chan struct{}    // closed by Stop: drainers answer what is left and end
	drainers sync.WaitGroup
}

// served is one core this bridge answers for.
type served struct {
	core *core.Core
	subs []*natsgo.Subscription
	app  *appender // nil unless writable

	mu      sync.Mutex
	encName string             // the core's valueEncoding; "" until known
	enc     encodings.Encoding // nil until known
}

// encoding returns the encoding a core is served with. A core followed by
// key learns its writer's valueEncoding with the first replicated message;
// until then it is served as binary.
func (s *Service) encoding(sv *served) (string, encodings.Encoding, error) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.enc != nil {
		return sv.encName, sv.enc, nil
	}
	name := string(sv.core.Info().UserData[UserDataEncoding])
	if name == "" {
		enc, err := s.o.Encoding(DefaultEncoding)
		return DefaultEncoding, enc, err
	}
	enc, err := s.o.Encoding(name)
	if err != nil {
		return name, nil, err
	}
	sv.encName, sv.enc = name, enc
	return name, enc, nil
}

// startFlushTimeout bounds waiting for NATS to confirm the subscriptions
// StartService made.
const startFlushTimeout = 30 * time.Second

// maxInFlight bounds the requests handled at once; over it, a request is
// answered 503 instead of queueing without limit.
const maxInFlight = 8192

// StartService registers the micro service and serves every core the
// store holds.
func StartService(ctx context.Context, o ServiceOptions) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxValueSize <= 0 {
		o.MaxValueSize = 1 << 20
	}
	s := &Service{
		o: o, log: o.Logger, cores: map[core.Key]*served{},
		slots: make(chan struct{}, maxInFlight),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.waits, s.stopWaits = context.WithCancel(s.ctx)
	s.codes = append(DefaultErrorCodes(),
		ErrorCode{core.ErrInvalidKey, CodeBadRequest},
		ErrorCode{core.ErrOutOfRange, CodeNotFound},
		ErrorCode{core.ErrBlockNotAvailable, CodeNotFound},
		ErrorCode{core.ErrNotWritable, CodeConflict},
		ErrorCode{core.ErrBlockTooLarge, CodeTooLarge},
		ErrorCode{core.ErrClosed, CodeUnavailable},
		ErrorCode{corestore.ErrStoreClosed, CodeUnavailable},
		ErrorCode{ErrUnknownEncoding, CodeBadRequest},
		ErrorCode{encodings.ErrInvalidValue, CodeBadRequest},
		ErrorCode{encodings.ErrUnsupportedFormat, CodeBadRequest},
		ErrorCode{encodings.ErrNotRepresentable, CodeBadRequest},
		ErrorCode{plugins.ErrUnavailable, CodeUnavailable},
	)
	svc, err := micro.AddService(o.Conn, micro.Config{
		Name:        ServiceName,
		Version:     serviceVersion(o.Version),
		Description: "Hypercore logs on NATS",
		Metadata:    map[string]string{"store": o.Name},
	})
	if err != nil {
		return nil, fmt.Errorf("register micro service: %w", err)
	}
	s.svc = svc
	s.startInboxes(max(2, min(runtime.GOMAXPROCS(0), maxInboxes)), inboxSize)
	// Serve the stored cores before the store endpoints answer, so that
	// store.<name>.list never shows a restarting bridge half loaded.
	for _, key := range o.Store.StoredKeys() {
		if _, err := s.open(ctx, o.Store, corestore.GetOptions{Key: &key}); err != nil {
			s.log.Error("cannot serve stored core", "key", key.String(), "err", err)
		}
	}
	for _, ep := range []struct {
		name, template string
		h              func(micro.Request)
	}{
		{"store-get", SubjectStoreGet, s.handleStoreGet},
		{"store-list", SubjectStoreList, s.handleStoreList},
	} {
		subj, err := o.Subjects.Build(ep.template, o.Name)
		if err != nil {
			s.Stop(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("store name %q: %w", o.Name, err)
		}
		h := ep.h
		err = svc.AddEndpoint(ep.name, micro.HandlerFunc(func(r micro.Request) { s.dispatch(detach(o.Conn, r), h) }),
			micro.WithEndpointSubject(subj), micro.WithEndpointQueueGroup(queueGroup+"."+o.Name))
		if err != nil {
			s.Stop(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("add endpoint %s: %w", subj, err)
		}
	}
	// Subscriptions reach the server asynchronously: flush, so that a
	// client that starts after StartService returns finds them.
	// Not cut short by ctx: once the service answers, its start completes.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startFlushTimeout)
	defer cancel()
	if err := o.Conn.FlushWithContext(fctx); err != nil {
		s.Stop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("register subscriptions with NATS: %w", err)
	}
	s.log.Info("serving", "store", o.Name, "cores", len(s.cores))
	return s, nil
}

// semver matches what micro accepts as a service version.
var semver = regexp.MustCompile(`^v?(\d+\.\d+\.\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// serviceVersion turns a build's version ("v1.2.3", "(devel)") into the
// SemVer micro requires.
func serviceVersion(v string) string {
	if semver.MatchString(v) {
		return strings.TrimPrefix(v, "v")
	}
	return "0.0.0-devel"
}

// dispatch runs h on its own goroutine: micro and NATS call handlers one at
// a time per subscription, and a slow request must not hold up the rest.
func (s *Service) dispatch(r micro.Request, h func(micro.Request)) {
	select {
	case s.slots <- struct{}{}:
	default:
		s.respondError(r, Unavailable("bridge is busy: %d requests in flight; retry", maxInFlight))
		return
	}
	if !s.begin() {
		<-s.slots
		s.respondError(r, Unavailable("bridge is shutting down"))
		return
	}
	go func() {
		defer s.work.Done()
		defer func() { <-s.slots }()
		h(r)
	}()
}

// begin counts one more piece of work in flight, unless the service is
// stopping: Stop waits for what began, and nothing begins after it.
func (s *Service) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.work.Add(1)
	return true
}

func (s *Service) respondError(r micro.Request, err error) {
	code, _ := Classify(err, s.codes)
	if code >= 500 {
		s.log.Warn("request failed", "subject", r.Subject(), "code", code, "err", err)
	}
	if e := RespondError(r, err, s.codes); e != nil {
		s.log.Debug("reply failed", "subject", r.Subject(), "err", e)
	}
}

// open gets a core from the store and serves it, once.
func (s *Service) open(ctx context.Context, st *corestore.Store, opts corestore.GetOptions) (*served, error) {
	c, err := st.Get(ctx, opts)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return nil, Unavailable("bridge is shutting down")
	}
	if sv, ok := s.cores[c.Key()]; ok {
		s.mu.Unlock()
		c.Close() // the service already holds a session
		return sv, nil
	}
	s.mu.Unlock()

	sv := &served{core: c}
	encName, _, err := s.encoding(sv)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("core %s: %w", c.Key(), err)
	}
	if c.Writable() && sv.enc == nil {
		// A writable core without a recorded encoding (made outside the
		// bridge) is binary, for good.
		sv.encName = DefaultEncoding
		if sv.enc, err = s.o.Encoding(DefaultEncoding); err != nil {
			c.Close()
			return nil, err
		}
	}
	if c.Writable() {
		sv.app = newAppender(s, sv)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.cores[c.Key()]; ok { // lost a race with another open
		c.Close()
		return prev, nil
	}
	if err := s.subscribe(sv); err != nil {
		c.Close()
		return nil, err
	}
	s.cores[c.Key()] = sv
	if s.o.Replication != nil {
		if err := s.o.Replication.Follow(ctx, c); err != nil {
			s.log.Error("replication of core not started", "key", c.Key().String(), "err", err)
		}
	}
	s.log.Debug("serving core", "key", c.Key().String(), "writable", c.Writable(), "encoding", encName)
	return sv, nil
}

// subscribe makes the per-core subscriptions. Their messages go to the
// core's inbox, where one goroutine takes them in arrival order (see
// inbox.go): a core costs no goroutine while nobody asks it anything.
// Callers hold s.mu.
func (s *Service) subscribe(sv *served) error {
	key := sv.core.Key()
	in := s.inboxOf(key)
	add := func(subj string, kind routeKind, queue bool) error {
		// The route is in place before NATS can deliver anything.
		s.addRoute(subj, route{sv: sv, kind: kind})
		var sub *natsgo.Subscription
		var err error
		if queue {
			sub, err = s.o.Conn.ChanQueueSubscribe(subj, queueGroup, in)
		} else {
			sub, err = s.o.Conn.ChanSubscribe(subj, in)
		}
		if err != nil {
			s.removeRoute(subj)
			return fmt.Errorf("subscribe %s: %w", subj, err)
		}
		sv.subs = append(sv.subs, sub)
		return nil
	}
	fail := func(err error) error {
		for _, sub := range sv.subs {
			sub.Unsubscribe()
			s.removeRoute(sub.Subject)
		}
		sv.subs = nil
		return err
	}
	if sv.app != nil {
		// Appends are queued in arrival order by the inbox's goroutine,
		// not dispatched, so per-core order is kept.
		if err := add(s.o.Subjects.CoreAppend(key), routeAppend, false); err != nil {
			return fail(err)
		}
	}
	if err := add(s.o.Subjects.CoreBlock(key), routeBlock, true); err != nil {
		return fail(err)
	}
	if err := add(s.o.Subjects.CoreInfo(key), routeInfo, true); err != nil {
		return fail(err)
	}
	return nil
}

// Stop stops answering: it removes the subscriptions and the micro
// service, waits (bounded by ctx) for requests in flight, and closes the
// service's core sessions. The store itself is the caller's to close.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.stopWaits()
	cores := s.cores
	s.cores = map[core.Key]*served{}
	s.mu.Unlock()
	var errs []error
	for _, sv := range cores {
		for _, sub := range sv.subs {
			if err := sub.Unsubscribe(); err != nil && !errors.Is(err, natsgo.ErrConnectionClosed) {
				errs = append(errs, err)
			}
		}
	}
	// Nothing more reaches the inboxes: what is in them is answered
	// "shutting down" (nothing new begins) and their goroutines end.
	s.stopInboxes()
	errs = append(errs, s.svc.Stop())
	done := make(chan struct{})
	go func() { s.work.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.cancel()
		<-done
		errs = append(errs, fmt.Errorf("stop: requests were still in flight: %w", ctx.Err()))
	}
	s.cancel()
	for _, sv := range cores {
		errs = append(errs, sv.core.Close())
	}
	return errors.Join(errs...)
}

// Info is a core as replies describe it.
type Info struct {
	Key           string `json:"key"`
	DiscoveryKey  string `json:"discoveryKey"`
	ID            string `json:"id"`
	Length        uint64 `json:"length"`
	ByteLength    uint64 `json:"byteLength"`
	Fork          uint64 `json:"fork"`
	Writable      bool   `json:"writable"`
	ValueEncoding string `json:"valueEncoding"`
	TreeHash      string `json:"treeHash"`
	Signature     string `json:"signature"`
}

func (s *Service) info(sv *served) Info {
	encName, _, _ := s.encoding(sv)
	i := sv.core.Info()
	return Info{
		Key: i.Key.String(), DiscoveryKey: i.DiscoveryKey.String(), ID: i.Key.ID(),
		Length: i.Length, ByteLength: i.ByteLength, Fork: i.Fork, Writable: i.Writable,
		ValueEncoding: encName, TreeHash: hex.EncodeToString(i.TreeHash[:]), Signature: hex.EncodeToString(i.Signature),
	}
}

func (s *Service) handleStoreGet(r micro.Request) {
	req, err := parseGetRequest(r.Data())
	if err != nil {
		s.respondError(r, err)
		return
	}
	ctx := s.ctx
	var sv *served
	if req.Key != "" {
		key, err := core.ParseKey(req.Key)
		if err != nil {
			s.respondError(r, BadRequest("%v", err))
			return
		}
		sv, err = s.open(ctx, s.o.Store, corestore.GetOptions{Key: &key})
		if err != nil {
			s.respondError(r, err)
			return
		}
	} else {
		enc := req.ValueEncoding
		if enc == "" {
			enc = DefaultEncoding
		}
		if _, err := s.o.Encoding(enc); err != nil {
			s.respondError(r, err)
			return
		}
		st := s.o.Store
		for _, ns := range req.Namespace {
			st = st.Namespace(ns)
		}
		sv, err = s.open(ctx, st, corestore.GetOptions{Name: req.Name, UserData: map[string][]byte{UserDataEncoding: []byte(enc)}})
		if err != nil {
			s.respondError(r, err)
			return
		}
		if have, _, _ := s.encoding(sv); req.ValueEncoding != "" && have != req.ValueEncoding {
			s.respondError(r, Conflict("core %q already exists with valueEncoding %q, not %q", req.Name, have, req.ValueEncoding))
			return
		}
	}
	r.RespondJSON(s.info(sv))
}

func (s *Service) handleStoreList(r micro.Request) {
	s.mu.Lock()
	out := make([]Info, 0, len(s.cores))
	for _, sv := range s.cores {
		out = append(out, s.info(sv))
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	r.RespondJSON(out)
}

func (s *Service) handleInfo(sv *served, r micro.Request) { r.RespondJSON(s.info(sv)) }
