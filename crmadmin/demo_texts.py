"""The words of the demo data, one complete set per language (`seed-demo --locale`), so a demo never mixes them.

Each set has the same shape and, list by list, the same length and order, so a seed draws the same figures in
either language and only the words differ. Codes the panel translates itself (channels, statuses, sources,
company sizes) and credit ratings (AAA..C, written so in China too) are shared and stay out of here.
"""
from dataclasses import dataclass

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


@dataclass(frozen=True)
class Texts:
    faker: str  # the Faker locale for people's names and street names
    # region -> its cities, (Chinese name, English name); addresses and companies are made in the region's cities
    regions: tuple[tuple[str, tuple[str, ...]], ...]
    industries: tuple[str, ...]
    trades: tuple[str, ...]  # what a company's name says it does
    positions: tuple[str, ...]
    tags: tuple[str | None, ...]
    products: tuple[tuple[str, int], ...]  # (product, list price in yuan)
    summaries: tuple[str, ...]
    outcomes: tuple[str | None, ...]
    complaint_subjects: tuple[str, ...]
    complaint_description: str
    departments: tuple[str, ...]
    solutions: tuple[str, ...]
    campaigns: tuple[str, ...]  # names by position in demo.CAMPAIGNS, "{y}" the year
    campaign_description: str
    comments_good: tuple[str, ...]
    comments_bad: tuple[str, ...]
    clerk_name: str  # "{n}" the demo clerk's number


# (region, its cities) in both languages, by position
_REGIONS = (
    (("华东", "East"), (("上海", "Shanghai"), ("南京", "Nanjing"), ("杭州", "Hangzhou"), ("苏州", "Suzhou"),
                        ("宁波", "Ningbo"), ("合肥", "Hefei"), ("济南", "Jinan"), ("青岛", "Qingdao"),
                        ("福州", "Fuzhou"), ("厦门", "Xiamen"))),
    (("华南", "South"), (("广州", "Guangzhou"), ("深圳", "Shenzhen"), ("东莞", "Dongguan"), ("佛山", "Foshan"),
                         ("南宁", "Nanning"), ("海口", "Haikou"))),
    (("华北", "North"), (("北京", "Beijing"), ("天津", "Tianjin"), ("石家庄", "Shijiazhuang"), ("太原", "Taiyuan"),
                         ("呼和浩特", "Hohhot"))),
    (("华中", "Central"), (("武汉", "Wuhan"), ("长沙", "Changsha"), ("郑州", "Zhengzhou"), ("南昌", "Nanchang"))),
    (("西南", "Southwest"), (("成都", "Chengdu"), ("重庆", "Chongqing"), ("昆明", "Kunming"), ("贵阳", "Guiyang"))),
    (("西北", "Northwest"), (("西安", "Xi'an"), ("兰州", "Lanzhou"), ("银川", "Yinchuan"), ("乌鲁木齐", "Urumqi"))),
    (("东北", "Northeast"), (("沈阳", "Shenyang"), ("大连", "Dalian"), ("长春", "Changchun"), ("哈尔滨", "Harbin"))),
)


def _regions(lang: int) -> tuple:
    return tuple((names[lang], tuple(city[lang] for city in cities)) for names, cities in _REGIONS)


ZH_CN = Texts(
    faker="zh_CN",
    regions=_regions(0),
    industries=("制造业", "零售", "金融", "医疗", "教育", "互联网", "物流", "房地产", "酒店餐饮", "能源"),
    trades=("科技", "贸易", "实业", "电子", "信息技术", "机械", "食品", "物流", "建材", "医疗器械", "网络科技", "商贸"),
    positions=("经理", "总监", "采购经理", "总经理", "工程师", "销售主管", "财务主管", "行政主管"),
    tags=(None, "重点客户", "批发客户", "大客户", None),
    products=(("年度服务套餐", 3280), ("高级会员", 980), ("入门套装", 399), ("专家咨询（一天）", 6800),
              ("备件套装", 560), ("培训课程", 1800), ("配件礼包", 268), ("上门安装", 450), ("延长保修", 1280),
              ("年度维护合同", 2980)),
    summaries=("电话确认发货日期", "发送新价目表", "上门拜访，演示产品", "询问续约事宜", "解答发票问题", "节日问候",
               "电话回访，客户满意", "发送产品资料", "上门拜访，了解需求", "确认续约意向"),
    outcomes=("有意向", "需再次跟进", "暂无意向", "已下单", None),
    complaint_subjects=("发货延迟", "产品质量问题", "电话客服态度差", "发票金额有误", "合同条款不清", "价格与报价不一致"),
    complaint_description="客户来电反映，详见通话记录。",
    departments=("客服部", "销售部", "质量部", "售后服务部"),
    solutions=("换货处理", "退还差价", "致歉并培训客服人员", "更正发票", "解释合同条款", "上门维修", "致歉并回访"),
    campaigns=("新春问候 {y}", "春季新品发布会 {y}", "行业展会 {y}", "618 促销 {y}", "行业研讨会 {y}", "双11 促销 {y}",
               "客户答谢会 {y}", "第一季度客户通讯 {y}", "第二季度客户通讯 {y}", "第三季度客户通讯 {y}",
               "第四季度客户通讯 {y}"),
    campaign_description="演示活动",
    comments_good=("服务很周到", "产品质量不错", "响应及时", "会推荐给朋友", "发货很快", "工作人员很专业"),
    comments_bad=("电话等了太久", "价格又涨了", "没有人回电话", "售后响应太慢", "价格偏高", "发票问题拖了很久"),
    clerk_name="演示业务员{n}",
)

EN = Texts(
    faker="en_US",
    regions=_regions(1),
    industries=("Manufacturing", "Retail", "Finance", "Healthcare", "Education", "Internet", "Logistics",
                "Real estate", "Hospitality", "Energy"),
    trades=("Technology", "Trading", "Industrial", "Electronics", "Information Technology", "Machinery", "Foods",
            "Logistics", "Building Materials", "Medical Devices", "Network Technology", "Commerce"),
    positions=("Manager", "Director", "Purchasing manager", "General manager", "Engineer", "Sales supervisor",
               "Finance supervisor", "Office manager"),
    tags=(None, "Key account", "Wholesale", "Major account", None),
    products=(("Annual service plan", 3280), ("Premium membership", 980), ("Starter kit", 399),
              ("Consulting day", 6800), ("Spare parts set", 560), ("Training course", 1800),
              ("Accessory gift pack", 268), ("On-site installation", 450), ("Extended warranty", 1280),
              ("Annual maintenance contract", 2980)),
    summaries=("Called to confirm delivery date", "Sent the new price list", "Visited the office, demoed the product",
               "Asked about renewal", "Answered a question about the invoice", "Holiday greeting",
               "Follow-up call, customer satisfied", "Sent product brochures", "Visited to learn their needs",
               "Confirmed they intend to renew"),
    outcomes=("Interested", "Needs follow-up", "Not interested", "Order placed", None),
    complaint_subjects=("Late delivery", "Product defect", "Rude service on the phone", "Wrong invoice amount",
                        "Contract terms unclear", "Price differs from the quote"),
    complaint_description="Reported by the customer; see the call notes.",
    departments=("Service", "Sales", "Quality", "After-sales"),
    solutions=("Replaced the product", "Refunded the difference", "Apologised and retrained the agent",
               "Corrected the invoice", "Explained the contract terms", "Repaired on site",
               "Apologised and called back"),
    campaigns=("New Year greetings {y}", "Spring product launch {y}", "Trade fair booth {y}", "Mid-year sale {y}",
               "Industry seminar {y}", "Singles' Day sale {y}", "Customer appreciation evening {y}",
               "Newsletter Q1 {y}", "Newsletter Q2 {y}", "Newsletter Q3 {y}", "Newsletter Q4 {y}"),
    campaign_description="Demo campaign",
    comments_good=("Very helpful staff", "Good product quality", "Quick to respond", "Will recommend to friends",
                   "Fast delivery", "Very professional staff"),
    comments_bad=("Waited too long on the phone", "Price went up again", "Nobody called back",
                  "After-sales service too slow", "Prices are high", "The invoice problem dragged on"),
    clerk_name="Demo clerk {n}",
)

TEXTS = {"zh_CN": ZH_CN, "en": EN}


def texts(locale: str) -> Texts:
    """The demo's words in a language of LOCALES."""
    if locale not in TEXTS:
        raise ValueError(f"unknown demo locale {locale!r}; one of {', '.join(LOCALES)}")
    return TEXTS[locale]
