package storage

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/corebridge/corebridge/core"
	pb "github.com/corebridge/corebridge/plugins/storage/proto"
)

// client is the host side of the plugin protocol: a Backend whose calls go
// to a plugin over gRPC. Each call forwards its ctx, so canceling it
// cancels the call in the plugin too.
type client struct {
	rpc pb.StorageClient
	// noSmall is set once the plugin answers ReadBlocksSmall
	// Unimplemented: it predates the call, and every read then streams.
	noSmall atomic.Bool
}

var _ Backend = (*client)(nil)

func (c *client) ReadHeader(ctx context.Context, dk [32]byte) (*core.Header, error) {
	resp, err := c.rpc.ReadHeader(ctx, &pb.ReadHeaderRequest{DiscoveryKey: dk[:]})
	if err != nil {
		return nil, fromStatus(err)
	}
	return headerFromProto(resp.Header)
}

// smallReadBlocks is the most blocks a read asks for with one unary call.
// The plugin reads the whole range to answer it and then sends what fits
// in one message, so a larger read streams from the start instead of being
// read twice.
const smallReadBlocks = 256

// ReadBlocks asks with one unary call first, which answers most reads
// whole, and streams whatever did not fit.
func (c *client) ReadBlocks(ctx context.Context, dk [32]byte, start, end uint64) ([]core.Block, error) {
	var asm assembler
	if !c.noSmall.Load() && start < end && end-start <= smallReadBlocks {
		resp, err := c.rpc.ReadBlocksSmall(ctx, &pb.ReadBlocksRequest{DiscoveryKey: dk[:], Start: start, End: end})
		switch {
		case status.Code(err) == codes.Unimplemented:
			c.noSmall.Store(true)
		case err != nil:
			return nil, fromStatus(err)
		default:
			for _, p := range resp.Blocks {
				if p.More {
					return nil, errProtocol("a small read returned part of block %d", p.Index)
				}
				if p.Index < start || p.Index >= resp.Next || p.Index >= end {
					return nil, errProtocol("a small read of [%d, %d) returned block %d", start, resp.Next, p.Index)
				}
				if err := asm.add(p); err != nil {
					return nil, err
				}
			}
			if resp.Next >= end {
				return asm.finish()
			}
			if resp.Next < start {
				return nil, errProtocol("a small read of [%d, %d) ends at %d", start, end, resp.Next)
			}
			start = resp.Next
		}
	}
	stream, err := c.rpc.ReadBlocks(ctx, &pb.ReadBlocksRequest{DiscoveryKey: dk[:], Start: start, End: end})
	if err != nil {
		return nil, fromStatus(err)
	}
	for {
		ch, err := stream.Recv()
		if err == io.EOF {
			return asm.finish()
		}
		if err != nil {
			return nil, fromStatus(err)
		}
		for _, p := range ch.Blocks {
			if err := asm.add(p); err != nil {
				return nil, err
			}
		}
	}
}

func (c *client) ReadNodes(ctx context.Context, dk [32]byte, indexes []uint64) ([]core.Node, error) {
	stream, err := c.rpc.ReadNodes(ctx)
	if err != nil {
		return nil, fromStatus(err)
	}
	const perMsg = chunkBytes / indexWireBytes
	req := &pb.ReadNodesRequest{DiscoveryKey: dk[:]}
	for {
		n := min(len(indexes), perMsg)
		req.Indexes = indexes[:n]
		indexes = indexes[n:]
		if err := stream.Send(req); err != nil {
			// The server ended the call; Recv below reports why.
			break
		}
		if len(indexes) == 0 {
			break
		}
		req = &pb.ReadNodesRequest{}
	}
	if err := stream.CloseSend(); err != nil {
		return nil, fromStatus(err)
	}
	var out []core.Node
	for {
		ch, err := stream.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fromStatus(err)
		}
		for _, p := range ch.Nodes {
			n, err := nodeFromProto(p)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
	}
}

// abortWait is how long a plugin has to answer a Commit once the caller
// gave up, before the host cuts the call and reports the outcome unknown.
const abortWait = 10 * time.Second

// Commit sends the batch and waits for the plugin's answer. The call is not
// canceled with ctx: a caller that gives up must still learn whether the
// batch was applied (see the Commit rpc in proto/storage.proto). When ctx
// ends, Commit stops sending, or asks the plugin to abort if the batch is
// all sent, and returns the plugin's answer: ctx's error when nothing was
// applied, nil when the batch was applied all the same. Only a plugin that
// does not answer within abortWait leaves the outcome unknown
// (ErrUnavailable).
func (c *client) Commit(ctx context.Context, dk [32]byte, b *core.Batch) error {
	if b == nil {
		return ValidateBatch(b)
	}
	chunks, err := commitChunks(dk, b)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sctx, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	stream, err := c.rpc.Commit(sctx)
	if err != nil {
		return fromStatus(err)
	}

	var (
		mu       sync.Mutex // held while sending
		allSent  bool
		timedOut atomic.Bool
		cutAfter *time.Timer
	)
	gaveUp := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(gaveUp)
		// The plugin has abortWait to answer; a Send blocked by a plugin
		// that stopped reading ends then too.
		cutAfter = time.AfterFunc(abortWait, func() {
			timedOut.Store(true)
			cut()
		})
		mu.Lock()
		defer mu.Unlock()
		if allSent {
			stream.Send(&pb.CommitChunk{Abort: true}) // on failure, Recv says why
		}
	})

	mu.Lock()
	for _, ch := range chunks {
		if ctx.Err() != nil {
			// Given up before the last chunk: the plugin applies nothing.
			stream.CloseSend()
			break
		}
		if err := stream.Send(ch); err != nil {
			break // the plugin ended the call; Recv says why
		}
		allSent = ch.Last
	}
	sentAll := allSent
	mu.Unlock()

	_, err = stream.Recv()
	if !stop() {
		<-gaveUp
		cutAfter.Stop()
	}
	if timedOut.Load() {
		if !sentAll {
			return ctx.Err()
		}
		return fmt.Errorf("%w: no answer to the commit within %v after it was given up: %w", ErrUnavailable, abortWait, ctx.Err())
	}
	return fromStatus(err)
}

func (c *client) List(ctx context.Context) ([][32]byte, error) {
	stream, err := c.rpc.List(ctx, &pb.ListRequest{})
	if err != nil {
		return nil, fromStatus(err)
	}
	var out [][32]byte
	for {
		ch, err := stream.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fromStatus(err)
		}
		for _, k := range ch.DiscoveryKeys {
			dk, err := discoveryKey(k)
			if err != nil {
				return nil, err
			}
			out = append(out, dk)
		}
	}
}

func (c *client) Delete(ctx context.Context, dk [32]byte) error {
	_, err := c.rpc.Delete(ctx, &pb.DeleteRequest{DiscoveryKey: dk[:]})
	return fromStatus(err)
}

func (c *client) Close(ctx context.Context) error {
	_, err := c.rpc.Close(ctx, &pb.CloseRequest{})
	return fromStatus(err)
}
