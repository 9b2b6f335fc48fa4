{#
    The current version of each record of a snapshot feed: raw keeps every delivered version of a record (with its
    lineage); staging presents the last one loaded. Ties within a load go to the later row of the file.
#}
{% macro latest_version(relation, key_columns) -%}
    select *
    from (
        select
            versions.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by versions._loaded_at desc, versions._source_file desc, versions._row_number desc
            ) as _version_rank
        from {{ relation }} as versions
    ) as ranked
    where ranked._version_rank = 1
{%- endmacro %}
