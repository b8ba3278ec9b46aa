#!/usr/bin/env python3
"""Decodes the OTLP protobuf bodies otlp_sink.py stored into one JSON line per span / metric point / log record.
Usage: otlp_dump.py <dir>  -> writes <dir>/spans.jsonl, metrics.jsonl, logs.jsonl, resources.jsonl"""
import json, os, struct, sys

def fields(buf):
    i, n = 0, len(buf)
    while i < n:
        key, i = varint(buf, i)
        fn, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v = buf[i:i+8]; i += 8
        elif wt == 2:
            ln, i = varint(buf, i); v = buf[i:i+ln]; i += ln
        elif wt == 5:
            v = buf[i:i+4]; i += 4
        else:
            raise ValueError(f'wire type {wt}')
        yield fn, wt, v

def varint(buf, i):
    r = s = 0
    while True:
        b = buf[i]; i += 1
        r |= (b & 0x7f) << s; s += 7
        if not b & 0x80:
            return r, i

def anyvalue(b):
    for fn, wt, v in fields(b):
        if fn == 1: return v.decode('utf-8', 'replace')
        if fn == 2: return bool(v)
        if fn == 3: return v - (1 << 64) if v >= 1 << 63 else v
        if fn == 4: return struct.unpack('<d', v)[0]
        if fn == 5: return [anyvalue(x) for f2, _, x in fields(v) if f2 == 1]
        if fn == 6: return dict(kv(x) for f2, _, x in fields(v) if f2 == 1)
        if fn == 7: return 'bytes:' + v.hex()
    return None

def kv(b):
    k = val = None
    for fn, wt, v in fields(b):
        if fn == 1: k = v.decode()
        if fn == 2: val = anyvalue(v)
    return k, val

def attrs(b, fnum, out):
    return out

def resource(b):
    return dict(kv(v) for fn, _, v in fields(b) if fn == 1)

def scope(b):
    d = {}
    for fn, _, v in fields(b):
        if fn == 1: d['name'] = v.decode()
        if fn == 2: d['version'] = v.decode()
        if fn == 3: d.setdefault('attributes', {}).update([kv(v)])
    return d

def span(b):
    d = {'attributes': {}, 'events': [], 'links': []}
    for fn, wt, v in fields(b):
        if fn == 1: d['trace_id'] = v.hex()
        elif fn == 2: d['span_id'] = v.hex()
        elif fn == 3: d['trace_state'] = v.decode()
        elif fn == 4: d['parent_span_id'] = v.hex()
        elif fn == 5: d['name'] = v.decode()
        elif fn == 6: d['kind'] = v
        elif fn == 7: d['start'] = struct.unpack('<Q', v)[0]
        elif fn == 8: d['end'] = struct.unpack('<Q', v)[0]
        elif fn == 9: d['attributes'].update([kv(v)])
        elif fn == 11:
            e = {'attributes': {}}
            for f2, _, x in fields(v):
                if f2 == 2: e['name'] = x.decode()
                if f2 == 3: e['attributes'].update([kv(x)])
            d['events'].append(e)
        elif fn == 13:
            l = {'attributes': {}}
            for f2, _, x in fields(v):
                if f2 == 1: l['trace_id'] = x.hex()
                if f2 == 2: l['span_id'] = x.hex()
                if f2 == 4: l['attributes'].update([kv(x)])
            d['links'].append(l)
        elif fn == 15:
            for f2, _, x in fields(v):
                if f2 == 2: d['status_message'] = x.decode()
                if f2 == 3: d['status_code'] = x
    return d

def datapoints(b, metric, kind):
    pts = []
    for fn, _, v in fields(b):
        if fn != 1: continue
        p = {'attributes': {}, 'exemplars': []}
        attr_field = 9 if kind in ('histogram', 'exp_histogram') else 7
        for f2, wt, x in fields(v):
            if f2 == attr_field: p['attributes'].update([kv(x)])
            elif kind in ('gauge', 'sum') and f2 == 4: p['value'] = struct.unpack('<d', x)[0]
            elif kind in ('gauge', 'sum') and f2 == 6: p['value'] = struct.unpack('<q', x)[0]
            elif kind == 'histogram' and f2 == 4: p['count'] = struct.unpack('<Q', x)[0]
            elif kind == 'histogram' and f2 == 5: p['sum'] = struct.unpack('<d', x)[0]
            elif kind == 'histogram' and f2 == 8 or kind == 'gauge' and f2 == 5 or kind == 'sum' and f2 == 5:
                ex = {'filtered_attributes': {}}
                for f3, _, y in fields(x):
                    if f3 == 7: ex['filtered_attributes'].update([kv(y)])
                    if f3 == 5: ex['trace_id'] = y.hex()
                p['exemplars'].append(ex)
        pts.append(p)
    return pts

def metric(b):
    d = {}
    for fn, _, v in fields(b):
        if fn == 1: d['name'] = v.decode()
        elif fn == 2: d['description'] = v.decode()
        elif fn == 3: d['unit'] = v.decode()
        elif fn == 5: d['type'] = 'gauge'; d['points'] = datapoints(v, d, 'gauge')
        elif fn == 7: d['type'] = 'sum'; d['points'] = datapoints(v, d, 'sum')
        elif fn == 9: d['type'] = 'histogram'; d['points'] = datapoints(v, d, 'histogram')
        elif fn == 10: d['type'] = 'exp_histogram'; d['points'] = datapoints(v, d, 'exp_histogram')
        elif fn == 12: d['metadata'] = dict([kv(v)])
    return d

def logrec(b):
    d = {'attributes': {}}
    for fn, _, v in fields(b):
        if fn == 3: d['severity'] = v.decode()
        elif fn == 5: d['body'] = anyvalue(v)
        elif fn == 6: d['attributes'].update([kv(v)])
        elif fn == 9: d['trace_id'] = v.hex()
        elif fn == 12: d['event_name'] = v.decode()
    return d

def walk(body, signal, sinks):
    for fn, _, rs in fields(body):
        if fn != 1: continue
        res = None
        for f2, _, x in fields(rs):
            if f2 == 1:
                res = resource(x); sinks['resources'].write(json.dumps({'signal': signal, 'resource': res}) + '\n')
            elif f2 == 2:
                sc = None
                for f3, _, y in fields(x):
                    if f3 == 1: sc = scope(y)
                    elif f3 == 2:
                        rec = {'traces': span, 'metrics': metric, 'logs': logrec}[signal](y)
                        rec['scope'] = sc
                        sinks[signal].write(json.dumps(rec) + '\n')

d = sys.argv[1]
sinks = {k: open(os.path.join(d, f'{k}.jsonl'), 'w') for k in ('traces', 'metrics', 'logs', 'resources')}
for name in sorted(os.listdir(d)):
    if not name.endswith('.pb'): continue
    signal = 'traces' if 'traces' in name else 'metrics' if 'metrics' in name else 'logs' if 'logs' in name else None
    if signal is None:
        print('unknown body', name); continue
    walk(open(os.path.join(d, name), 'rb').read(), signal, sinks)
for s in sinks.values(): s.close()
