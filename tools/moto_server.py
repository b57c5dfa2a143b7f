"""The moto server, with DynamoDB requests handled one at a time.

moto 5.2.5 implements TransactWriteItems by deep-copying every table the
transaction touches (to roll back on failure) while other server threads may
be writing to those tables. Concurrent clients therefore crash it with
"RuntimeError: dictionary changed size during iteration" (HTTP 500) - an
emulator race that AWS never shows. Serializing DynamoDB requests removes it
without weakening anything the tests rely on: each request is still atomic,
conditions are still evaluated against the latest state, and concurrent
clients still interleave request by request. S3, SQS, SES and the rest stay
multi-threaded.

It also evaluates a transaction's conditions before moto snapshots anything,
and replaces moto's rollback point: moto deep-copies each touched table once
per transaction item to be able to roll back, which makes every transaction
cost O(table size) (seeding 1,000 customers took 413 s). A transaction whose
condition fails is cancelled up front with the same cancellation reasons; one
that will write keeps a copy of just the items it touches and puts them back
if moto's own implementation fails part-way, which is the same rollback for
a transaction that runs alone (DynamoDB requests are serialized here).

SES v2 is made to answer as the account the emulator already behaves like:
a created sender identity is verified for sending (moto sends from it but
reports VerifiedForSendingStatus false), and GetAccount (not implemented in
moto) reports production access, since moto sends to any recipient as an
account out of the sandbox does. `billing-admin doctor` reads both.

Usage is moto_server's: python tools/moto_server.py -H 127.0.0.1 -p PORT
"""

import json
import sys
import threading

import copy

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb import responses
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.server import main
from moto.ses.models import EmailIdentity
from moto.sesv2 import urls as sesv2_urls
from moto.sesv2.responses import SESV2Response

_DYNAMODB = threading.RLock()
_call_action = responses.DynamoHandler.call_action


def _serialized_call_action(self):
    with _DYNAMODB:
        return _call_action(self)


responses.DynamoHandler.call_action = _serialized_call_action

_transact_write_items = DynamoDBBackend.transact_write_items


def _cancel_failing_transactions_first(self, transact_items):
    """Cancel a transaction whose conditions fail before moto snapshots tables.

    Anything unusual (validation problems, ReturnValuesOnConditionCheckFailure)
    goes to moto's own implementation, which reports it as AWS would.
    """
    reasons = []
    touched = []
    for entry in transact_items:
        if len(entry) != 1:
            return _transact_write_items(self, transact_items)
        op_type, op = next(iter(entry.items()))
        if op.get("ReturnValuesOnConditionCheckFailure"):
            return _transact_write_items(self, transact_items)
        condition = op.get("ConditionExpression")
        try:
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            current = self.get_item(op["TableName"], key)
            touched.append((op["TableName"], key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
            if condition is None:
                reasons.append((None, None, None))
                continue
            passes = get_filter_expression(
                condition,
                op.get("ExpressionAttributeNames"),
                op.get("ExpressionAttributeValues"),
            ).expr(current)
        except Exception:  # noqa: BLE001 - moto's own path reports it properly
            return _transact_write_items(self, transact_items)
        reasons.append((None, None, None) if passes else ("ConditionalCheckFailed", "The conditional request failed", None))
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)
    # The rollback point is the touched items, not whole tables.
    dynamodb_models.copy = _NoTableCopy()
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, attributes in reversed(touched):
            if attributes is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attributes)
        raise
    finally:
        dynamodb_models.copy = copy


class _NoTableCopy:
    """Stands in for the `copy` module inside one transaction: moto's table
    snapshot becomes the live table (its own restore is then a no-op), and
    the items copied above are what a failure puts back."""

    def deepcopy(self, value, memo=None):
        return value


DynamoDBBackend.transact_write_items = _cancel_failing_transactions_first

_email_identity_init = EmailIdentity.__init__


def _verified_email_identity(self, *args, **kwargs):
    _email_identity_init(self, *args, **kwargs)
    self.verified_for_sending_status = True


def _get_account(self):
    return json.dumps(
        {
            "ProductionAccessEnabled": True,
            "SendingEnabled": True,
            "EnforcementStatus": "HEALTHY",
            "DedicatedIpAutoWarmupEnabled": False,
            "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 0.0},
        }
    )


EmailIdentity.__init__ = _verified_email_identity
SESV2Response.get_account = _get_account
sesv2_urls.url_paths["{0}/v2/email/account$"] = SESV2Response.dispatch

if __name__ == "__main__":
    sys.exit(main())
