-- WeChat user tags (用户标签): a referrer, or one of its codes, may name a tag of the Official
-- Account; a follower credited through it is tagged in WeChat (tags/members/batchtagging, the
-- tag made with tags/create when the account lacks it). When the credit moves, is voided or is
-- restored, the follower's tag follows: the old one is taken off (batchuntagging), the new one
-- put on. Outbox jobs of kind `wechat_tags` make WeChat match `follower_wechat_tag`.

-- 1..30 characters (WeChat's limit for a tag name); a code's tag wins over its referrer's.
alter table referrer
    add column wechat_tag text check (char_length(wechat_tag) between 1 and 30);
alter table qr_code
    add column wechat_tag text check (char_length(wechat_tag) between 1 and 30);

-- The account's tags by name, as WeChat numbers them (found with tags/get or made with
-- tags/create); a row is dropped when WeChat says the id is no longer valid (45159).
create table wechat_tag (
    account_id  bigint not null references account (id),
    name        text not null,
    tag_id      bigint not null,
    created_at  timestamptz not null default now(),
    primary key (account_id, name)
);

-- The tags we manage on each follower: `wanted` says whether the follower should carry the tag
-- (false: to be taken off; the row goes once WeChat has done so), `state` whether WeChat has
-- been told (`pending`), agreed (`done`) or refused for good (`failed`, with its errcode).
create table follower_wechat_tag (
    account_id   bigint not null,
    follower_id  bigint not null,
    tag          text not null check (char_length(tag) between 1 and 30),
    wanted       boolean not null,
    state        text not null check (state in ('pending', 'done', 'failed')),
    errcode      integer,
    error        text,
    updated_at   timestamptz not null default now(),
    primary key (account_id, follower_id, tag),
    foreign key (account_id, follower_id) references follower (account_id, id)
);
