package nats

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxBatchValues bounds the values of one append request.
const maxBatchValues = 100_000

// splitBatch returns the values of an append request body. Without a batch
// header the body is one value. Values share memory with body.
func splitBatch(framing string, body []byte, maxValue int) ([][]byte, error) {
	switch framing {
	case "":
		if len(body) > maxValue {
			return nil, TooLarge("value is %d bytes, over the limit of %d (limits.max_value_size)", len(body), maxValue)
		}
		return [][]byte{body}, nil
	case BatchFrames:
		return splitFrames(body, maxValue)
	case BatchJSON:
		return splitJSONArray(body, maxValue)
	}
	return nil, BadRequest("header %s: %q is not a known framing; use %q or %q", HeaderBatch, truncate(framing, 40), BatchJSON, BatchFrames)
}

// splitFrames reads 4-byte big-endian length-prefixed frames.
func splitFrames(body []byte, maxValue int) ([][]byte, error) {
	var out [][]byte
	for off := 0; off < len(body); {
		if len(body)-off < 4 {
			return nil, BadRequest("batch frame %d: %d bytes left, too few for a 4-byte length", len(out), len(body)-off)
		}
		n := binary.BigEndian.Uint32(body[off:])
		off += 4
		if uint64(n) > uint64(maxValue) {
			return nil, TooLarge("batch value %d is %d bytes, over the limit of %d (limits.max_value_size)", len(out), n, maxValue)
		}
		if int(n) > len(body)-off {
			return nil, BadRequest("batch frame %d says %d bytes but %d are left", len(out), n, len(body)-off)
		}
		if len(out) == maxBatchValues {
			return nil, TooLarge("batch has more than %d values", maxBatchValues)
		}
		out = append(out, body[off:off+int(n):off+int(n)])
		off += int(n)
	}
	if len(out) == 0 {
		return nil, BadRequest("batch has no values")
	}
	return out, nil
}

// splitJSONArray reads a JSON array and returns each element's raw bytes.
func splitJSONArray(body []byte, maxValue int) ([][]byte, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, BadRequest("batch body is not a JSON array: %s", jsonError(err))
	}
	if len(raw) == 0 {
		return nil, BadRequest("batch has no values")
	}
	if len(raw) > maxBatchValues {
		return nil, TooLarge("batch has %d values, more than %d", len(raw), maxBatchValues)
	}
	out := make([][]byte, len(raw))
	for i, r := range raw {
		if len(r) > maxValue {
			return nil, TooLarge("batch value %d is %d bytes, over the limit of %d (limits.max_value_size)", i, len(r), maxValue)
		}
		out[i] = r
	}
	return out, nil
}

// AppendFrames frames values for a BatchFrames append request.
func AppendFrames(dst []byte, values ...[]byte) []byte {
	for _, v := range values {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// blockRequest is a parsed core.<key>.block request.
type blockRequest struct {
	Index   uint64
	Wait    bool
	Timeout time.Duration
}

// Bounds of a waiting block request.
const (
	defaultBlockWait = 30 * time.Second
	maxBlockWait     = 10 * time.Minute
)

// parseBlockRequest reads an index as decimal text, or JSON
// {"index": 5, "wait": true, "timeout": "5s"}.
func parseBlockRequest(body []byte) (blockRequest, error) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		return blockRequest{}, BadRequest("block request is empty; send an index such as 0, or {\"index\": 0, \"wait\": true}")
	}
	if t[0] != '{' {
		n, err := strconv.ParseUint(string(t), 10, 64)
		if err != nil {
			return blockRequest{}, BadRequest("block index %q is not a non-negative decimal number", truncate(string(t), 40))
		}
		return blockRequest{Index: n}, nil
	}
	var j struct {
		Index   *uint64 `json:"index"`
		Wait    bool    `json:"wait"`
		Timeout string  `json:"timeout"`
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return blockRequest{}, BadRequest("block request is not valid JSON of the form {\"index\": 5, \"wait\": true, \"timeout\": \"5s\"}: %s", jsonError(err))
	}
	if !atEnd(dec) {
		return blockRequest{}, BadRequest("block request has data after its JSON object")
	}
	if j.Index == nil {
		return blockRequest{}, BadRequest("block request has no \"index\"")
	}
	r := blockRequest{Index: *j.Index, Wait: j.Wait}
	if j.Timeout != "" {
		if !j.Wait {
			return blockRequest{}, BadRequest("block request has a \"timeout\" but not \"wait\": true")
		}
		d, err := time.ParseDuration(j.Timeout)
		if err != nil || d <= 0 {
			return blockRequest{}, BadRequest("block request timeout %q is not a positive duration such as \"5s\"", truncate(j.Timeout, 40))
		}
		if d > maxBlockWait {
			return blockRequest{}, BadRequest("block request timeout %s is over the limit of %s", d, maxBlockWait)
		}
		r.Timeout = d
	} else if r.Wait {
		r.Timeout = defaultBlockWait
	}
	return r, nil
}

// atEnd reports whether dec has nothing left but white space. (dec.More
// alone misses a stray ']' or '}'.)
func atEnd(dec *json.Decoder) bool {
	_, err := dec.Token()
	return err == io.EOF
}

// jsonError is a decoding error as a message may quote it: encoding/json
// quotes unknown field names whole.
func jsonError(err error) string { return truncate(err.Error(), 200) }

// truncate cuts s to at most n bytes and marks the cut, never inside a
// UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// getRequest is a store.<store>.get request.
type getRequest struct {
	Name          string   `json:"name"`
	Namespace     []string `json:"namespace"`
	ValueEncoding string   `json:"valueEncoding"`
	Key           string   `json:"key"`
}

// parseGetRequest reads and checks a store.get request.
func parseGetRequest(body []byte) (getRequest, error) {
	var r getRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, BadRequest(`store get request must be JSON such as {"name": "core-1", "valueEncoding": "json"} or {"key": "<64 hex>"}: %s`, jsonError(err))
	}
	if !atEnd(dec) {
		return r, BadRequest("store get request has data after its JSON object")
	}
	switch {
	case r.Name != "" && r.Key != "":
		return r, BadRequest(`store get request has both "name" and "key"; send one`)
	case r.Name == "" && r.Key == "":
		return r, BadRequest(`store get request needs a "name" (a writable core, created if new) or a "key" (a core to follow)`)
	case r.Key != "" && (len(r.Namespace) > 0 || r.ValueEncoding != ""):
		return r, BadRequest(`store get by "key" takes no "namespace" or "valueEncoding": the core's writer chose them`)
	}
	for i, ns := range r.Namespace {
		if ns == "" {
			return r, BadRequest("store get request: namespace element %d is empty", i)
		}
	}
	if strings.ContainsRune(r.Name, 0) {
		return r, BadRequest("core name contains a NUL character")
	}
	return r, nil
}
