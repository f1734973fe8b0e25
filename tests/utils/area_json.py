"""Writers of the area systems' own JSON exports from canonical records, the inverse of the
shipped mappings (node_gateway/adapters/mappings/): Ningbo's WMS (one object per list, yuan
strings, ISO times) and Zhengzhou's BSP (a wrapper array, integer fen, local time text)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from clients.adapters.ceb import CST
from clients.records import TaxAssessment


def _fen(amount: Decimal) -> int:
    return int(amount * 100)


def ningbo_wms(a: TaxAssessment) -> dict[str, Any]:
    """One inventory list as Ningbo's warehouse system exports it: its bill's taxes as the
    assessment declares them (its line sums if it declares none)."""
    head = a.declared_totals or a.totals
    return {
        "invt_no": a.invt_no,
        "customs_code": a.customs_code,
        "trade_mode": a.trade_mode,
        "account_book": a.ems_no,
        "declarant_code": a.agent_code,
        "waybill_no": a.logistics_no,
        "released_at": a.release_time.isoformat(),
        "order": {
            "order_no": a.order_no,
            "platform_code": a.ebp_code,
            "merchant_code": a.ebc_code,
        },
        "buyer": {
            "name": a.buyer.name,
            "id_type": a.buyer.id_type,
            "id_no": a.buyer.id_number,
            "mobile": a.buyer.phone,
            "address": a.buyer.address,
        },
        "goods": [
            {
                "line_no": line.gnum,
                "record_no": line.item_record_no,
                "hs_code": line.gcode,
                "goods_name": line.gname,
                "quantity": line.qty,
                "unit_code": line.unit,
                "unit_price": str(line.price),
                "amount": str(line.total_price),
                "duty": str(line.customs_duty),
                "vat": str(line.vat),
                "excise": str(line.consumption_tax),
            }
            for line in a.lines
        ],
        "bill": {
            "goods_value": str(a.totals.total_price),
            "duty": str(head.customs_duty),
            "vat": str(head.vat),
            "excise": str(head.consumption_tax),
            "tax_total": str(head.tax_total),
        },
    }


def zhengzhou_bsp(assessments: Sequence[TaxAssessment]) -> dict[str, Any]:
    """Inventory lists as Zhengzhou's bonded service platform answers a query for them."""
    return {
        "code": 0,
        "message": "ok",
        "data": {
            "total": len(assessments),
            "inventories": [
                {
                    "inventoryNo": a.invt_no,
                    "orderCode": a.order_no,
                    "declCustoms": a.customs_code,
                    "platformEntCode": a.ebp_code,
                    "merchantEntCode": a.ebc_code,
                    "declEntCode": a.agent_code,
                    "waybill": a.logistics_no,
                    "bookNo": a.ems_no,
                    "passTime": a.release_time.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S"),
                    "consignee": {
                        "fullName": a.buyer.name,
                        "certType": int(a.buyer.id_type),
                        "certNo": a.buyer.id_number,
                        "tel": a.buyer.phone,
                        "addr": a.buyer.address,
                    },
                    "details": [
                        {
                            "seqNo": line.gnum,
                            "goodsRecordNo": line.item_record_no,
                            "hsCode": line.gcode,
                            "goodsName": line.gname,
                            "quantity": line.qty,
                            "unitCode": line.unit,
                            "unitPriceFen": _fen(line.price),
                            "amountFen": _fen(line.total_price),
                            "dutyFen": _fen(line.customs_duty),
                            "vatFen": _fen(line.vat),
                            "exciseFen": _fen(line.consumption_tax),
                        }
                        for line in a.lines
                    ],
                }
                for a in assessments
            ],
        },
    }
