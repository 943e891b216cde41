// SPDX-License-Identifier: MIT
//
// Drives the plcline PCCC simulator with nodepccc (a third-party PCCC client) on
// 127.0.0.1:PORT: writes N, F and B values through nodepccc's normal path (service 0x4B,
// SendRRData, no route), reads them back on that session, and reads them again on a second
// session routed through Connection Manager Unconnected Send (path 1,0), so the values are
// seen through two different request paths. Prints one "PASS name" or "FAIL name: why" line
// per check; exits 0 when every check passed. It never sleeps: each step starts in the
// callback of the one before, and a guard timer fails the run if a step never completes.
//
// Usage: node nodepccc_rw.js PORT
'use strict';

const NodePCCC = require('nodepccc');

const port = Number(process.argv[2]);
let failed = 0;

function check(name, ok, detail) {
    if (ok) {
        console.log('PASS ' + name);
    } else {
        failed++;
        console.log('FAIL ' + name + ': ' + detail);
    }
}

function same(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
}

const guard = setTimeout(() => {
    check('completes', false, 'a step never completed (guard 20 s)');
    process.exit(1);
}, 20000);

function connect(routing, cb) {
    const c = new NodePCCC({ silent: true });
    const params = { port: port, host: '127.0.0.1' };

    if (routing) {
        params.routing = routing;
    }
    c.initiateConnection(params, (err) => {
        check('connect' + (routing ? ' routed 1,0' : ''), err === undefined, String(err));
        if (err !== undefined) {
            process.exit(1);
        }
        cb(c);
    });
}

// Adds `items` to the session's poll list (once) and reads them all. (nodepccc 0.1.17's
// removeItems() throws while a read is being prepared, so the list only grows.)
function read(c, items, cb) {
    if (items !== undefined) {
        c.addItems(items);
    }
    c.readAllItems((bad, values) => cb(bad, values));
}

const items = ['N7:0,5', 'F8:0', 'F8:1', 'B3:0/5', 'B3:0', 'N7:10'];
const expected = {
    'N7:0,5': [11, 22, 33, -44, 5555],
    'F8:0': 3.5,
    'F8:1': -1250.25,
    'B3:0/5': true,
    'B3:0': 32,
    'N7:10': 32767,
};

function checkValues(tag, bad, values, want) {
    check(tag + ' read quality', !bad, 'nodepccc reported a bad read');
    Object.keys(want).forEach((k) => {
        check(tag + ' ' + k, same(values[k], want[k]),
            'got ' + JSON.stringify(values[k]) + ', want ' + JSON.stringify(want[k]));
    });
}

connect(undefined, (a) => {
    a.writeItems(['N7:0,5', 'F8:0', 'F8:1', 'B3:0/5', 'N7:10'],
        [[11, 22, 33, -44, 5555], 3.5, -1250.25, true, 32767], (badWrite) => {
            check('write N7:0,5 F8:0 F8:1 B3:0/5 N7:10', !badWrite, 'nodepccc reported a bad write');
            read(a, items, (bad, values) => {
                checkValues('direct', bad, values, expected);
                connect([0x01, 0x00, 0x01, 0x00], (b) => {
                    read(b, items, (bad2, values2) => {
                        checkValues('routed', bad2, values2, expected);
                        // a bit written on one session changes only that bit
                        b.writeItems(['B3:0/6', 'B3:0/5'], [true, false], (badBits) => {
                            check('routed bit writes', !badBits, 'nodepccc reported a bad write');
                            read(a, undefined, (bad3, values3) => {
                                checkValues('after bit writes', bad3, values3,
                                    { 'B3:0': 64, 'N7:0,5': expected['N7:0,5'] });
                                clearTimeout(guard);
                                a.dropConnection(() => {
                                    b.dropConnection(() => {
                                        process.exit(failed === 0 ? 0 : 1);
                                    });
                                });
                            });
                        });
                    });
                });
            });
        });
});
