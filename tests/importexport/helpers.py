"""Building workbooks for the import tests: start from the template (so headers are the real
ones) and add rows given as {header without '*': value}."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

from anfang.compounds.importexport import build_workbook, to_bytes


def _headers(ws: Any) -> list[str]:
    return [str(c.value).rstrip("*") for c in ws[1]]


def add_rows(wb: Any, sheet: str, *rows: dict[str, Any]) -> None:
    ws = wb[sheet]
    headers = _headers(ws)
    for row in rows:
        unknown = set(row) - set(headers)
        assert not unknown, f"unknown headers {unknown} on {sheet}"
        ws.append([row.get(h) for h in headers])


def workbook(sheets: dict[str, list[dict[str, Any]]]) -> bytes:
    wb = build_workbook()
    for sheet, rows in sheets.items():
        add_rows(wb, sheet, *rows)
    return to_bytes(wb)


def upload(content: bytes, name: str = "登记表.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def read_values(content: bytes) -> dict[str, list[tuple]]:
    """Every cell value of every sheet, for comparing two exports."""
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
    finally:
        wb.close()


def column_letter(content: bytes, sheet: str, header: str) -> str:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    for cell in wb[sheet][1]:
        if str(cell.value).rstrip("*") == header:
            return cell.column_letter
    raise AssertionError(f"no column {header} on {sheet}")


def valid_sheets() -> dict[str, list[dict[str, Any]]]:
    """A complete compound: every sheet has rows, every kind of reference is used."""
    return {
        "小区": [
            {
                "小区名称": "新华小区",
                "地址": "营口市站前区新华路8号",
                "纬度": 40.666667,
                "经度": 122.235,
                "属地派出所": "建设派出所",
                "物业服务企业": "安居物业",
                "物业服务合同编号": "AJ-2023-08",
                "状态": "已投入使用",
                "户数": 480,
                "占地面积（㎡）": 35000.5,
                "建成年份": 2012,
            }
        ],
        "楼栋": [{"名称": "1号楼", "层数": 18}, {"名称": "2号楼", "层数": "6"}],
        "单元": [
            {"楼栋": "1号楼", "名称": "1单元", "户数": 36, "单元门为国标防盗门": "是", "楼宇对讲": "联网型"},
            {"楼栋": "1号楼", "名称": "2单元", "楼宇对讲": "standalone"},
            {"楼栋": "2号楼", "名称": "1单元", "单元门为国标防盗门": "否", "楼宇对讲": "无"},
        ],
        "出入口": [
            {"名称": "南门", "类别": "主出入口", "通行方式": "人车混行", "门体": "电动伸缩门", "道闸": "电动道闸"},
            {"名称": "北门", "类别": "secondary", "通行方式": "人行"},
        ],
        "周界段": [
            {"名称": "南侧围墙", "屏障类型": "围墙", "长度（米）": 320.5, "高度（米）": 2.2, "有周界电子防护": "是"}
        ],
        "停车场": [{"名称": "地下车库", "类型": "地下停车库", "车位数": 200}],
        "停车场出入口": [{"停车场": "地下车库", "名称": "东口", "道闸": "电动道闸"}],
        "电梯": [{"楼栋": "1号楼", "名称": "1号梯", "单元": "1单元"}],
        "主要通道及广场": [{"名称": "中心广场", "类型": "广场"}],
        "值班室及监控中心": [
            {
                "名称": "南门值班室",
                "所在出入口": "南门",
                "面积（㎡）": 36,
                "与监控中心关系": "合二为一",
                "兼作监控中心": "是",
            }
        ],
        "人防队伍": [
            {"名称": "安居保安队", "类型": "guard_force", "所属单位": "安居物业", "人数": 12, "联系电话": 13800000000}
        ],
        "户门调查": [{"名称": "2024年户门调查", "调查日期": "2024-03-01", "调查户数": 100, "国标防盗门户数": 90}],
        "设备": [
            {
                "名称": "南门车牌机",
                "设备类型": "车牌识别摄像机",
                "厂商": "海康威视",
                "序列号": "DS-TCG-0001",
                "IP 地址": "192.168.1.10",
                "位置类型": "出入口",
                "位置名称": "南门",
                "分辨率宽": 1920,
                "分辨率高": 1080,
                "车牌识别": "是",
                "与公安监控平台联网": "是",
                "证书类型（第24条）": "生产登记批准证书",
                "证书编号": "LN-2023-001",
                "证书有效期至": "2027/12/31",
            },
            {"名称": "1单元门口机", "设备类型": "对讲门口机", "位置类型": "单元", "位置名称": "1号楼1单元"},
            {"名称": "1号梯摄像机", "设备类型": "摄像机", "位置类型": "电梯", "位置名称": "1号楼 1号梯"},
            {"名称": "东口摄像机", "设备类型": "camera", "位置类型": "停车场出入口", "位置名称": "地下车库东口"},
            {"名称": "值班室大屏", "设备类型": "监控大屏", "位置类型": "值班室/监控中心", "位置名称": "南门值班室"},
        ],
    }
