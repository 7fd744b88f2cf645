"""Believable demo data, inserted in bulk: customers with two years of purchases, contacts, complaints, campaigns."""
import random
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal

from faker import Faker
from sqlalchemy import func, insert, select, text

from .auth.passwords import hash_password
from .extensions import db
from .models import Campaign, CampaignParticipant, Complaint, Customer, Interaction, Role, Transaction, User, utcnow

CHUNK = 5000
REGIONS_ZH = ["华东", "华南", "华北", "华中", "西南", "西北", "东北"]
REGIONS_EN = ["East", "South", "North", "Central", "Southwest", "Northwest", "Northeast"]
INDUSTRIES = ["Manufacturing", "Retail", "Finance", "Healthcare", "Education", "IT", "Logistics",
              "Real estate", "Hospitality", "Energy", "制造业", "零售", "金融", "医疗", "教育", "互联网"]
PRODUCTS = [("Annual service plan", 2980), ("Premium membership", 1280), ("Starter kit", 399),
            ("Consulting day", 6800), ("Spare parts set", 560), ("Training course", 1800),
            ("年度服务套餐", 3280), ("高级会员", 980), ("配件礼包", 268), ("上门安装", 450)]
SUMMARIES = ["Called to confirm delivery date", "Sent the new price list", "Visited the office, demoed the product",
             "Asked about renewal", "Answered a question about the invoice", "Holiday greeting",
             "电话回访，客户满意", "发送产品资料", "上门拜访，了解需求", "节日问候", "确认续约意向", "处理发票问题"]
OUTCOMES = ["Interested", "Needs follow-up", "Not interested", "Order placed", "有意向", "需再次跟进", "已下单", None]
COMPLAINT_SUBJECTS = ["Late delivery", "Product defect", "Rude service on the phone", "Wrong invoice amount",
                      "Contract terms unclear", "发货延迟", "产品质量问题", "服务态度差", "价格不一致", "合同条款争议"]
CAMPAIGNS = [("客户答谢会 {y}", "appreciation_event", "event"), ("Spring product launch {y}", "product_launch", "event"),
             ("行业研讨会 {y}", "seminar", "event"), ("Trade fair booth {y}", "exhibition", "event"),
             ("618 促销 {y}", "promotion", "online_chat"), ("Newsletter {y}", "email_campaign", "email"),
             ("节日问候 {y}", "care_action", "phone")]


def ensure_demo_clerks(count: int = 5) -> list[int]:
    """Owners for demo customers: the clerks there are, else demo clerks with unusable random passwords."""
    clerk_role = db.session.scalar(select(Role).where(Role.name == "clerk"))
    ids = []
    if clerk_role is not None:
        ids = [u.id for u in db.session.scalars(select(User)) if clerk_role in u.roles and u.active]
    if len(ids) >= count:
        return ids
    for n in range(1, count - len(ids) + 1):
        if db.session.scalar(select(User).where(User.username == f"demo.clerk{n}")) is not None:
            continue
        user = User(username=f"demo.clerk{n}", display_name=f"Demo clerk {n}",
                    password_hash=hash_password(secrets.token_urlsafe(24)))
        if clerk_role is not None:
            user.roles = [clerk_role]
        db.session.add(user)
    db.session.flush()
    return ids + [u.id for u in db.session.scalars(select(User).where(User.username.like("demo.clerk%")))]


def _next_id(model) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def _bump_sequences(*models) -> None:
    if db.engine.dialect.name == "postgresql":
        for model in models:
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('\"{model.__tablename__}\"', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM \"{model.__tablename__}\"))"))


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(["138", "139", "137", "136", "150", "151", "158", "186", "187", "188", "135", "159"])
    return f"+86{prefix}{rng.randrange(10**8):08d}"


def seed(customers: int, seed_value: int = 2024, progress=print) -> dict:
    """Insert `customers` customers and their history; returns the counts inserted."""
    rng = random.Random(seed_value)
    fake_zh, fake_en = Faker("zh_CN"), Faker("en_US")
    Faker.seed(seed_value)
    owners = ensure_demo_clerks()
    now = utcnow()
    today = now.date()
    pool = max(200, min(customers, 5000))
    names = [fake_zh.name() for _ in range(pool * 3 // 4)] + [fake_en.name() for _ in range(pool // 4)]
    companies = [fake_zh.company() for _ in range(pool // 8)] + [fake_en.company() for _ in range(pool // 16)]
    addresses = [fake_zh.address().replace("\n", " ") for _ in range(pool // 4)]
    positions = ["经理", "总监", "采购", "Buyer", "Manager", "Director", "Owner", "工程师"]
    domains = ["example.com", "example.cn", "mail.example.org", "corp.example.net"]

    campaign_start = _next_id(Campaign)
    campaign_rows = []
    for i, (title, ctype, channel) in enumerate(CAMPAIGNS * 2):
        year = today.year - (i // len(CAMPAIGNS))
        starts = date(year, 1 + (i * 5) % 12, 1 + (i * 7) % 27)
        if starts > today:
            starts = today - timedelta(days=30 + i)
        campaign_rows.append({
            "id": campaign_start + i, "name": f"{title.format(y=year)} #{campaign_start + i}", "type": ctype,
            "channel": channel, "status": "finished" if starts < today - timedelta(days=30) else "running",
            "starts_on": starts, "ends_on": starts + timedelta(days=rng.randint(1, 30)),
            "budget": Decimal(rng.randrange(5_000, 200_000)), "actual_cost": Decimal(rng.randrange(3_000, 150_000)),
            "description": None, "owner_id": rng.choice(owners), "version": 1,
        })
    db.session.execute(insert(Campaign.__table__), campaign_rows)
    campaign_ids = [row["id"] for row in campaign_rows]

    counts = {"customers": 0, "transactions": 0, "interactions": 0, "complaints": 0, "participants": 0}
    next_customer, next_tx = _next_id(Customer), _next_id(Transaction)
    done = 0
    while done < customers:
        batch = min(CHUNK, customers - done)
        cust_rows, tx_rows, ia_rows, cp_rows, part_rows = [], [], [], [], []
        for n in range(batch):
            cid = next_customer + done + n
            is_company = rng.random() < 0.35
            created = now - timedelta(days=rng.randint(0, 730), seconds=rng.randint(0, 86_400))
            region_i = rng.randrange(len(REGIONS_ZH))
            owner = rng.choice(owners)
            # purchases: many buy rarely, a few buy often
            purchases = min(int(rng.expovariate(1 / 4.0)), 60) if rng.random() < 0.8 else 0
            total, last_paid = Decimal(0), None
            for _ in range(purchases):
                product, base = rng.choice(PRODUCTS)
                when = created + timedelta(seconds=rng.randint(0, max(1, int((now - created).total_seconds()))))
                qty = rng.choice([1, 1, 1, 2, 3])
                amount = (Decimal(base) * qty * Decimal(rng.uniform(0.8, 1.2))).quantize(Decimal("0.01"))
                status = rng.choices(["paid", "refunded", "pending"], [95, 4, 1])[0]
                tx_rows.append({"id": next_tx, "customer_id": cid, "product": product, "quantity": qty,
                                "amount": amount, "currency": "CNY", "occurred_at": when,
                                "channel": rng.choice(["store", "online", "phone", "sales_rep", "partner"]),
                                "status": status,
                                "campaign_id": rng.choice(campaign_ids) if rng.random() < 0.1 else None,
                                "version": 1, "created_at": when, "updated_at": when})
                next_tx += 1
                if status == "paid":
                    total += amount
                    last_paid = max(last_paid or when, when)
            last_contact = None
            for _ in range(rng.choice([0, 1, 2, 3, 3, 4, 6])):
                when = created + timedelta(seconds=rng.randint(0, max(1, int((now - created).total_seconds()))))
                last_contact = max(last_contact or when, when)
                ia_rows.append({"customer_id": cid, "channel": rng.choice(["phone", "email", "visit", "social_media", "online_chat", "event"]),
                                "direction": rng.choice(["inbound", "outbound", "outbound"]),
                                "summary": rng.choice(SUMMARIES), "outcome": rng.choice(OUTCOMES),
                                "handled_by_id": owner, "occurred_at": when,
                                "next_follow_up_on": (when + timedelta(days=14)).date(),
                                "version": 1, "created_at": when, "updated_at": when})
            if rng.random() < 0.03:
                received = created + timedelta(seconds=rng.randint(0, max(1, int((now - created).total_seconds()))))
                closed = rng.random() < 0.7
                urgency = rng.choices(["urgent", "normal", "common_question"], [2, 5, 3])[0]
                cp_rows.append({"customer_id": cid, "subject": rng.choice(COMPLAINT_SUBJECTS),
                                "description": "Reported by the customer; see the call notes.", "channel": rng.choice(["phone", "email", "visit", "online_chat"]),
                                "received_at": received, "type": rng.choice(["product_quality", "service", "price", "contract", "policy"]),
                                "severity": rng.choices(["general", "major"], [9, 1])[0], "urgency": urgency,
                                "status": "closed" if closed else rng.choice(["received", "assessed", "assigned", "in_progress"]),
                                "assignee_id": owner, "department": rng.choice(["Service", "Sales", "Quality", "客服部"]),
                                "solution": None, "action_taken": None, "customer_feedback": None,
                                "satisfaction_score": rng.randint(2, 5) if closed else None,
                                "due_at": received + timedelta(hours=24 if urgency == "urgent" else 72),
                                "closed_at": min(now, received + timedelta(hours=rng.randint(2, 96))) if closed else None,
                                "version": 1, "created_at": received, "updated_at": received})
            if rng.random() < 0.08:
                part_rows.append({"campaign_id": rng.choice(campaign_ids), "customer_id": cid,
                                  "response": rng.choices(["invited", "responded", "attended", "converted"], [5, 3, 2, 1])[0],
                                  "responded_at": None, "note": None, "version": 1})
            stage = "potential"
            if last_paid is not None:
                idle = (now - last_paid).days
                stage = ("churned" if idle > 365 else "at_risk" if idle > 180 else
                         "loyal" if purchases >= 6 else "new" if purchases == 1 else "active")
            tier = None if last_paid is None else ("high" if total >= 15000 else "medium" if total >= 4000 else "low")
            name = rng.choice(names)
            cust_rows.append({
                "id": cid, "name": name, "kind": "company" if is_company else "person",
                "gender": None if is_company else rng.choice(["male", "female"]),
                "birthday": None if is_company else date(rng.randint(1955, 2003), rng.randint(1, 12), rng.randint(1, 28)),
                "mobile": _phone(rng),
                "email": f"c{cid}.{rng.randrange(10**4)}@{rng.choice(domains)}" if rng.random() < 0.8 else None,
                "address": rng.choice(addresses), "region": REGIONS_ZH[region_i] if rng.random() < 0.7 else REGIONS_EN[region_i],
                "company_name": rng.choice(companies) if is_company or rng.random() < 0.3 else None,
                "position": rng.choice(positions) if is_company else None,
                "industry": rng.choice(INDUSTRIES), "company_size": rng.choice(["micro", "small", "medium", "large"]) if is_company else None,
                "source": rng.choice(["exhibition", "website", "referral", "advertising", "phone_inquiry", "social_media", "walk_in"]),
                "referred_by_id": None, "preferences": None, "interests": None, "needs": None, "notes": None,
                "tags": rng.choice([None, "VIP", "wholesale", "重点客户", None]),
                "credit_rating": rng.choice(["AAA", "AA", "A", "B", "C", None]),
                "owner_id": owner, "lifecycle_stage": stage, "value_tier": tier, "follow_up_days": None,
                "last_contact_at": last_contact,
                "next_follow_up_on": ((last_contact or created) + timedelta(days=14)).date(),
                "version": 1, "created_at": created, "updated_at": created,
            })
        db.session.execute(insert(Customer.__table__), cust_rows)
        for table, rows in ((Transaction.__table__, tx_rows), (Interaction.__table__, ia_rows),
                            (Complaint.__table__, cp_rows)):
            for start in range(0, len(rows), CHUNK):
                db.session.execute(insert(table), rows[start:start + CHUNK])
        if part_rows:
            seen = set()
            unique = [r for r in part_rows if (r["campaign_id"], r["customer_id"]) not in seen
                      and not seen.add((r["campaign_id"], r["customer_id"]))]
            db.session.execute(insert(CampaignParticipant.__table__), unique)
            counts["participants"] += len(unique)
        counts["customers"] += batch
        counts["transactions"] += len(tx_rows)
        counts["interactions"] += len(ia_rows)
        counts["complaints"] += len(cp_rows)
        done += batch
        _bump_sequences(Customer, Transaction, Campaign)
        db.session.commit()
        if progress and customers >= 20_000:
            progress(f"  {done:,} / {customers:,} customers")
    _bump_sequences(Campaign)
    db.session.commit()
    return counts
